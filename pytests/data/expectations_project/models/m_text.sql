select * from (values ('AB12', true), ('ab12', true), ('X9', false), (null, false)) as t (s, active)
