select * from (values ('a'), ('a'), ('a'), ('a'), ('b'), ('b')) as t (g)
