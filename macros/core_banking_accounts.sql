{#-
    The simulated bank's account columns as the warehouse reads them, with their null defaults (status from
    closed_on, limits 0): the latest version (int_accounts_deduplicated) and every version (int_accounts_versioned)
    read the same way.
-#}
{% macro core_banking_account_columns() -%}
    account_id,
    client_id,
    iban,
    product_code,
    currency,
    opened_on,
    closed_on,
    coalesce(status, case when closed_on is not null then 'closed' else 'active' end) as status,
    coalesce(credit_limit, 0)::numeric(18, 2) as credit_limit,
    coalesce(overdraft_limit, 0)::numeric(18, 2) as overdraft_limit
{%- endmacro %}
