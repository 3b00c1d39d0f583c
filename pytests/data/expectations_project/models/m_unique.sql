select * from (values ('a', true), ('b', true), ('b', false), (null, true), (null, true)) as t (k, active)
