select * from (values (1, 'a', true), (2, 'b', true), (3, null, false)) as t (id, code, active)
