select * from (values ('a', 1), ('c', null), ('c', null)) as t (k1, k2)
