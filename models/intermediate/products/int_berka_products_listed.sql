-- The Czech bank's two products, in the shape of int_products_unioned: the data set has one kind of current account
-- and one kind of loan, with no fee or rate (NULL). Listed only once the bank's accounts are loaded, so a warehouse
-- without Berka data shows none.
select
    products.product_code,
    products.product_name,
    products.product_type,
    'CZK'::text as currency,
    null::numeric(18, 2) as monthly_fee,
    null::numeric(18, 6) as interest_rate,
    null::timestamp as updated_at,
    {{ source_system('berka') }} as source_system
from (
    values
    ('berka_current_account', 'Current account (Czech bank)', 'current_account'),
    ('berka_loan', 'Loan (Czech bank)', 'personal_loan')
) as products (product_code, product_name, product_type)
where
    exists (
        select 1 from {{ ref('stg_berka__account') }} as accounts
        where accounts.is_valid
    )
