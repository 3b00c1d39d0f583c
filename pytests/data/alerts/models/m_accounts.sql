select account_id, cast(amount as numeric) as amount, currency
from {{ source('landing', 'accounts') }}
where account_id is not null
