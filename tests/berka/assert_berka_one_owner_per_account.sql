-- Every Berka account has exactly one owner (the data set's rule); returns accounts breaking it.
select
    accounts.account_id,
    count(holders.account_holder_id) as owners
from {{ ref('int_berka__accounts') }} as accounts
left join {{ ref('int_berka__account_holders') }} as holders
    on accounts.account_id = holders.account_id and holders.holder_role = 'owner'
group by accounts.account_id
having count(holders.account_holder_id) <> 1
