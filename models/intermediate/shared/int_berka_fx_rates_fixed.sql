/*
    The CZK rate used to show Berka amounts in EUR. The bank API publishes rates for the simulated bank's period
    only; the Czech bank's history is 1993–1998, before the euro existed. Rule: one fixed historical rate of
    35.000 CZK per EUR-equivalent (the ECU, which became the euro 1:1 on 1999-01-01) for the whole period. Source:
    Eurostat, "Euro/ECU exchange rates - annual data" (ert_bil_eur_a): the annual averages of the ECU in CZK lay
    between about 34 and 36 in 1993–1998; 35 is that range's rounded middle, not a daily market rate. Every
    converted row carries fx_rate_basis = 'fixed_historical' so a report can tell it from a published rate.
*/
select
    'CZK'::text as currency,
    '1993-01-01'::date as valid_from,
    '1999-01-01'::date as valid_to,
    35.000000::numeric(18, 6) as rate_per_eur,
    'fixed_historical'::text as fx_rate_basis,
    'Eurostat ert_bil_eur_a (ECU/CZK annual averages 1993-1998, about 34-36), rounded to 35'::text as rate_source
