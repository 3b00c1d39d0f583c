select account_id, cast(amount as numeric) as principal
from {{ source('landing', 'accounts') }}
where account_id is not null and cast(amount as numeric) < 100
