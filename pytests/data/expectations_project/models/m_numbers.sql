select * from (values (1, 'x'), (5, 'x'), (10, 'y'), (null, 'y')) as t (n, grp)
