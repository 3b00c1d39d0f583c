-- errors on a fractional amount: the model failure of a failing night
select account_id, cast(amount as integer) as amount
from {{ source('landing', 'accounts') }}
