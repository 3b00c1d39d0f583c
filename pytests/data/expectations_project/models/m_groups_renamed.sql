-- m_groups' rows under another column name
select * from (values ('a'), ('a'), ('b')) as t (h)
