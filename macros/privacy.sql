{#-
    Personal data: keyed pseudonyms computed by PostgreSQL, with a key dbt never sees as text.

    The key (BANKWH_PSEUDONYM_KEY, a Prefect secret block, or the embedded demo's generated key; see
    orchestration/privacy.py) reaches every dbt connection as the session setting `bankwh.pseudonym_key` (hex), passed
    by libpq's PGOPTIONS. No macro reads it with env_var(): dbt would write the value into the compiled SQL, the
    manifest, its partial-parse file and its debug log. Models call {{ pseudonym('column') }}, which compiles to
    `privacy.pseudonym(column)`, a function that reads the setting inside the server.

    pseudonym(value) = hex(HMAC-SHA256(key, UTF-8 bytes of value)), RFC 2104. With pgcrypto installed (or installable)
    it is pgcrypto's hmac(); PostgreSQL builds without pgcrypto (the embedded server's) compute the same HMAC from the
    built-in sha256(): sha256((K xor opad) || sha256((K xor ipad) || value)), the padded keys derived once per session.
    Both give the value Python's hmac.new(key, value, sha256).hexdigest() gives (pytests/test_privacy.py).
-#}

{% macro pseudonym(expression) -%}
    privacy.pseudonym(({{ expression }})::text)
{%- endmacro %}


{#- on-run-start: the schema `privacy` and its functions, then a check that the key is there, before any model. -#}
{% macro create_pseudonym_functions() -%}
create schema if not exists privacy;

create or replace function privacy.pseudonym_key() returns bytea
language plpgsql stable
as $body$
declare
    key_hex text := current_setting('bankwh.pseudonym_key', true);
begin
    if coalesce(key_hex, '') = '' then
        raise exception 'no pseudonym key in this session: set BANKWH_PSEUDONYM_KEY (or run dbt through bankwh, '
            'which passes the key as PGOPTIONS="-c bankwh.pseudonym_key=<hex>")';
    end if;
    if key_hex !~ '^([0-9a-f]{2})+$' then
        raise exception 'bankwh.pseudonym_key is not lower-case hex';
    end if;
    return decode(key_hex, 'hex');
end
$body$;

{#- The inner and outer padded keys of RFC 2104, memoised in the session next to the key they come from. -#}
create or replace function privacy.pseudonym_pads(out ipad bytea, out opad bytea)
language plpgsql volatile
as $body$
declare
    key_hex text := encode(privacy.pseudonym_key(), 'hex');
    memo text := current_setting('bankwh.pseudonym_pads', true);
    k bytea;
begin
    if memo is not null and split_part(memo, ':', 1) = md5(key_hex) then
        ipad := decode(split_part(memo, ':', 2), 'hex');
        opad := decode(split_part(memo, ':', 3), 'hex');
        return;
    end if;
    k := decode(key_hex, 'hex');
    if length(k) > 64 then
        k := sha256(k);
    end if;
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    ipad := k;
    opad := k;
    for i in 0..63 loop
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);
        opad := set_byte(opad, i, get_byte(k, i) # 92);
    end loop;
    perform set_config('bankwh.pseudonym_pads', md5(key_hex) || ':' || encode(ipad, 'hex') || ':' || encode(opad, 'hex'), false);
end
$body$;

do $body$
declare
    crypto_schema text;
begin
    if not exists (select 1 from pg_extension where extname = 'pgcrypto')
        and exists (select 1 from pg_available_extensions where name = 'pgcrypto') then
        begin
            create extension if not exists pgcrypto;
        exception when insufficient_privilege then
            raise notice 'pgcrypto is available but this role cannot create it: HMAC from the built-in sha256()';
        end;
    end if;
    select extnamespace::regnamespace::text into crypto_schema from pg_extension where extname = 'pgcrypto';
    if crypto_schema is not null then
        execute format(
            'create or replace function privacy.pseudonym(value text) returns text language sql stable strict '
            'as $f$ select encode(%I.hmac(convert_to(value, ''UTF8''), privacy.pseudonym_key(), ''sha256''), '
            '''hex'') $f$',
            crypto_schema
        );
    else
        create or replace function privacy.pseudonym(value text) returns text
        language sql volatile strict
        as $f$
            select encode(sha256(pads.opad || sha256(pads.ipad || convert_to(value, 'UTF8'))), 'hex')
            from privacy.pseudonym_pads() as pads
        $f$;
    end if;
    perform privacy.pseudonym_key();
end
$body$;
{%- endmacro %}
