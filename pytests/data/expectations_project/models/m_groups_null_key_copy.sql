select * from (values (null), ('a')) as t (g)
