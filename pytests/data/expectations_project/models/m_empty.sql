select 'a'::text as g where false
