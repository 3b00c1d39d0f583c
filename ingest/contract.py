"""The delivered files of both sources as data: which entities exist, their columns and keys.

`ENTITIES` is the landing-file part of docs/source_contract.md (one folder per entity); `BERKA_ENTITIES` are the
eight PKDD'99 files (`trans.asc` → table `trans`), with their headers lower-cased as the loader names them.
Ingestion checks every file header against its entity: a column that is not listed is a schema change (it still
lands), a missing key or mandatory column makes the file unloadable (it is quarantined whole, the column named).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntitySpec:
    """One delivered entity: its raw table name, primary key and columns in file order."""

    name: str
    primary_key: tuple[str, ...]
    columns: tuple[str, ...]
    mandatory_extra: tuple[str, ...] = ()

    @property
    def mandatory(self) -> tuple[str, ...]:
        """Columns a file must have to be loadable: the primary key plus the contract's mandatory values."""
        return self.primary_key + tuple(c for c in self.mandatory_extra if c not in self.primary_key)


def _spec(name: str, key: str, columns: str, mandatory: str = "") -> EntitySpec:
    return EntitySpec(
        name=name,
        primary_key=tuple(key.split()),
        columns=tuple(columns.split()),
        mandatory_extra=tuple(mandatory.split()),
    )


ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in [
        _spec(
            "products",
            "product_code",
            "product_code product_name product_type currency monthly_fee interest_rate updated_at",
        ),
        _spec(
            "clients",
            "client_id",
            "client_id first_name last_name birth_date national_id email phone street city postal_code country "
            "segment risk_rating kyc_status onboarded_on updated_at",
        ),
        _spec(
            "accounts",
            "account_id",
            "account_id client_id iban product_code currency opened_on closed_on status credit_limit "
            "overdraft_limit updated_at",
        ),
        _spec(
            "loans",
            "loan_id",
            "loan_id client_id account_id product_code principal currency annual_rate term_months start_date "
            "status updated_at",
        ),
        _spec(
            "loan_schedules",
            "loan_id installment_no",
            "loan_id installment_no due_date principal_due interest_due",
        ),
        _spec(
            "loan_payments",
            "payment_id",
            "payment_id loan_id installment_no paid_on amount currency",
        ),
        _spec(
            "transactions",
            "transaction_id",
            "transaction_id account_id booked_at value_date amount currency channel mcc merchant "
            "counterparty_iban description",
            mandatory="transaction_id account_id booked_at amount currency",
        ),
        _spec(
            "balances",
            "account_id balance_date",
            "account_id balance_date closing_balance currency",
        ),
        _spec(
            "postings",
            "posting_id",
            "posting_id account_id posting_date posting_type amount currency description",
        ),
        _spec(
            "fraud_labels",
            "transaction_id",
            "transaction_id label fraud_type reported_on",
        ),
        _spec(
            "surveys",
            "response_id",
            "response_id client_id survey_date channel nps_score csat_score comment answered_at",
        ),
    ]
}

#: The longest text the contract accepts per entity and column (characters, after trimming). A longer value is
#: not truncated: dbt staging rejects its row as `text_too_long` naming the column (macros/value_checks.sql,
#: `contract_text_limits`, holds the same numbers; pytests/test_bad_values.py checks that they agree). Codes and
#: amounts have their own checks; IBANs are checked by their ISO 13616 format.
TEXT_LIMITS: dict[str, dict[str, int]] = {
    "products": {"product_code": 64, "product_name": 200, "product_type": 32},
    "clients": {
        "client_id": 64,
        "first_name": 100,
        "last_name": 100,
        "national_id": 64,
        "email": 254,
        "phone": 32,
        "street": 200,
        "city": 100,
        "postal_code": 16,
        "segment": 32,
        "kyc_status": 32,
    },
    "accounts": {"account_id": 64, "client_id": 64, "product_code": 64, "status": 32},
    "loans": {"loan_id": 64, "client_id": 64, "account_id": 64, "product_code": 64, "status": 32},
    "loan_schedules": {"loan_id": 64},
    "loan_payments": {"payment_id": 64, "loan_id": 64},
    "transactions": {
        "transaction_id": 64,
        "account_id": 64,
        "channel": 32,
        "mcc": 8,
        "merchant": 200,
        "description": 500,
    },
    "balances": {"account_id": 64},
    "postings": {"posting_id": 64, "account_id": 64, "posting_type": 32, "description": 500},
    "fraud_labels": {"transaction_id": 64, "label": 32, "fraud_type": 64},
    "surveys": {"response_id": 64, "client_id": 64, "channel": 32, "comment": 2000},
}

#: Columns the loader adds to every raw row; a file header may not use these names.
LINEAGE_COLUMNS = ("_file_name", "_line_number", "_loaded_at", "_dlt_load_id", "_dlt_id")

RAW_SCHEMA = "raw_core_banking"
BERKA_SCHEMA = "raw_berka"

BERKA_ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in [
        _spec("account", "account_id", "account_id district_id frequency date"),
        _spec("client", "client_id", "client_id birth_number district_id"),
        _spec("disp", "disp_id", "disp_id client_id account_id type"),
        _spec("card", "card_id", "card_id disp_id type issued"),
        _spec("loan", "loan_id", "loan_id account_id date amount duration payments status"),
        _spec("order", "order_id", "order_id account_id bank_to account_to amount k_symbol"),
        _spec("district", "a1", " ".join(f"a{i}" for i in range(1, 17))),
        _spec("trans", "trans_id", "trans_id account_id date type operation amount balance k_symbol bank account"),
    ]
}
