select * from (values ('a'), ('a')) as t (g)
