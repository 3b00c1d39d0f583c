select * from (values (2, 1, true), (3, 3, true), (null, 5, false), (1, 2, false)) as t (a, b, active)
