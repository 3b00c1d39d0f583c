-- another group column name, and another spread over the groups (a: 1, b: 2)
select * from (values ('a'), ('b'), ('b')) as t (h)
