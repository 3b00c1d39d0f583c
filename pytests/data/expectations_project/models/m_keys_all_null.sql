select * from (values ('a', 1), ('a', 2), (null, null), (null, null)) as t (k1, k2)
