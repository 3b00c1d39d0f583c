select * from (values ('a', 1), ('a', 1), ('b', null)) as t (k1, k2)
