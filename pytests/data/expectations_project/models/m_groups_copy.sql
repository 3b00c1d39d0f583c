select * from (values ('a'), ('a'), ('b')) as t (g)
