-- "Key" is a mixed-case identifier: unquoted, PostgreSQL reads it as key, which does not exist
select * from (values ('a', 1), ('a', 1), ('b', 2)) as t ("Key", k2)
