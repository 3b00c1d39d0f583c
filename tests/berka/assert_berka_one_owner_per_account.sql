-- Every Berka account has exactly one owner (the data set's rule); returns accounts breaking it.
{{ config(group='bank_warehouse') }}

select
    accounts.account_id,
    count(holders.account_holder_id) as owners
from {{ ref('int_berka_accounts_joined') }} as accounts
left join {{ ref('int_berka_account_holders_conformed') }} as holders
    on accounts.account_id = holders.account_id and holders.holder_role = 'owner'
group by accounts.account_id
having count(holders.account_holder_id) <> 1
