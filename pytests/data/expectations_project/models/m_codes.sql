select * from (values ('a', 1, true), ('b', 2, true), ('c', 3, false), ('it''s', 4, false), (null, null, false))
    as t (code, num, active)
