"""Static reference data of the demo bank: products, codes, names, places, merchant categories.

Kept as plain tables so the vectorised stages can index them with integer arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

CURRENCIES = ["EUR", "CZK", "USD", "GBP", "CHF", "PLN"]
# Approximate units per EUR: the centre of the FX random walk and the factor for amounts in foreign currency.
FX_BASE = {"EUR": 1.0, "CZK": 25.0, "USD": 1.08, "GBP": 0.84, "CHF": 0.94, "PLN": 4.30}
FX_CURRENCIES = ["CZK", "USD", "GBP", "CHF", "PLN"]
# IBAN country of an account by its currency (EUR accounts spread over the euro-area branches).
IBAN_COUNTRY_BY_CURRENCY = {"CZK": "CZ", "USD": "LU", "GBP": "GB", "CHF": "CH", "PLN": "PL"}
EUR_COUNTRIES = ["DE", "FR", "NL", "BE", "AT"]
EUR_COUNTRY_WEIGHTS = [0.45, 0.2, 0.15, 0.1, 0.1]

SEGMENTS = ["mass", "affluent", "private", "sme"]
SEGMENT_WEIGHTS = [0.70, 0.18, 0.04, 0.08]
RISK_WEIGHTS = [0.25, 0.35, 0.22, 0.12, 0.06]
KYC = ["verified", "pending", "expired"]
KYC_WEIGHTS = [0.9, 0.05, 0.05]
ACCOUNT_STATUS = ["active", "dormant", "closed"]
LOAN_STATUS = ["active", "repaid", "defaulted"]

CHANNELS = [
    "card_pos",
    "card_online",
    "atm",
    "transfer_in",
    "transfer_out",
    "direct_debit",
    "standing_order",
    "salary",
    "branch",
]
CH = {name: i for i, name in enumerate(CHANNELS)}
CARD_CHANNELS = (CH["card_pos"], CH["card_online"], CH["atm"])


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    type: str
    currency: str
    monthly_fee: str
    interest_rate: str


PRODUCTS = [
    Product("CA_STD", "Current account Standard", "current_account", "EUR", "4.90", "9.90"),
    Product("CA_PREM", "Current account Premium", "current_account", "EUR", "12.00", "8.90"),
    Product("CA_CZK", "Current account CZK", "current_account", "CZK", "99.00", "11.90"),
    Product("CA_USD", "Current account USD", "current_account", "USD", "5.00", "10.90"),
    Product("CA_GBP", "Current account GBP", "current_account", "GBP", "4.00", "10.90"),
    Product("CA_CHF", "Current account CHF", "current_account", "CHF", "5.00", "7.90"),
    Product("CA_PLN", "Current account PLN", "current_account", "PLN", "19.00", "12.90"),
    Product("SAV_FLEX", "Flexible savings", "savings", "EUR", "0.00", "1.50"),
    Product("CC_CLASSIC", "Credit card Classic", "credit_card", "EUR", "2.50", "18.90"),
    Product("CC_GOLD", "Credit card Gold", "credit_card", "EUR", "8.00", "16.90"),
    Product("PL_STD", "Personal loan", "personal_loan", "EUR", "0.00", "7.90"),
    Product("MTG_FIX", "Fixed-rate mortgage", "mortgage", "EUR", "0.00", "3.60"),
    Product("TD_12M", "Term deposit 12 months", "term_deposit", "EUR", "0.00", "2.75"),
]
PRODUCT_INDEX = {p.code: i for i, p in enumerate(PRODUCTS)}
FX_PRODUCT = {p.currency: p.code for p in PRODUCTS if p.type == "current_account" and p.currency != "EUR"}

# Names, streets and cities per language group; countries map onto a group.
FIRST_NAMES = {
    "de": ["Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Lena", "Paul", "Jürgen", "Käthe", "Stefan", "Lea"],
    "fr": ["Camille", "Louis", "Chloé", "Hugo", "Léa", "Gabriel", "Manon", "Jules", "Zoé", "Théo", "Inès", "Noé"],
    "nl": ["Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Finn", "Sanne", "Bram", "Fleur", "Joris", "Maud"],
    "cs": ["Jan", "Tereza", "Petr", "Lucie", "Tomáš", "Eliška", "Jiří", "Kateřina", "Ondřej", "Veronika"],
    "pl": ["Jakub", "Zuzanna", "Kacper", "Maja", "Szymon", "Julia", "Wojciech", "Zofia", "Michał", "Ewa"],
    "en": ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Emily", "Charlie", "Grace"],
}
LAST_NAMES = {
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer", "Koch"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Lefèvre", "Moreau"],
    "nl": ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit", "Meijer"],
    "cs": ["Novák", "Svoboda", "Novotný", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák"],
    "pl": ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński"],
    "en": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Evans", "Walker"],
}
STREETS = {
    "de": ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schulstraße", "Lindenallee", "Bergstraße"],
    "fr": ["Rue de la Paix", "Avenue Victor Hugo", "Rue des Lilas", "Boulevard Voltaire", "Rue du Moulin"],
    "nl": ["Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Schoolstraat", "Julianalaan"],
    "cs": ["Nádražní", "Školní", "Husova", "Masarykova", "Komenského", "Palackého"],
    "pl": ["ulica Polna", "ulica Lipowa", "ulica Leśna", "ulica Słoneczna", "ulica Krótka"],
    "en": ["High Street", "Station Road", "Church Lane", "Park Avenue", "Victoria Road", "Mill Lane"],
}
# country: (language, phone prefix, postal code digits, cities, population weight)
COUNTRIES = {
    "DE": ("de", "+49", 5, ["Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main", "Leipzig"], 0.38),
    "FR": ("fr", "+33", 5, ["Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Nantes"], 0.15),
    "NL": ("nl", "+31", 4, ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven"], 0.10),
    "BE": ("fr", "+32", 4, ["Bruxelles", "Liège", "Namur", "Charleroi"], 0.07),
    "AT": ("de", "+43", 4, ["Wien", "Graz", "Linz", "Salzburg", "Innsbruck"], 0.08),
    "CZ": ("cs", "+420", 5, ["Praha", "Brno", "Ostrava", "Plzeň", "Olomouc"], 0.09),
    "PL": ("pl", "+48", 5, ["Warszawa", "Kraków", "Wrocław", "Gdańsk", "Poznań"], 0.06),
    "CH": ("de", "+41", 4, ["Zürich", "Basel", "Bern", "Luzern"], 0.03),
    "GB": ("en", "+44", 6, ["London", "Manchester", "Leeds", "Bristol", "Edinburgh"], 0.04),
}
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]


@dataclass(frozen=True)
class MerchantCategory:
    mcc: str
    median_eur: float
    sigma: float
    pos_weight: float
    online_weight: float
    merchants: tuple[str, ...]


# Merchant names are all ISO-8859-1 encodable (one delivery is Latin-1); accented ones test the decoding.
MERCHANT_CATEGORIES = [
    MerchantCategory("5411", 32.0, 0.8, 30, 2, ("FreshMart", "Supermarché Leclair", "Konsum Süd", "GreenGrocer")),
    MerchantCategory("5812", 28.0, 0.6, 12, 1, ("Café Müller", "Brasserie du Théâtre", "Trattoria Roma")),
    MerchantCategory("5814", 9.5, 0.5, 10, 2, ("Burger Point", "Crêperie Bretonne", "Döner Haus")),
    MerchantCategory("5541", 55.0, 0.4, 8, 0.5, ("Fuel Express", "Station Étoile", "Tankstelle Nord")),
    MerchantCategory("5912", 18.0, 0.7, 6, 1, ("Pharmacie Centrale", "Apotheke am Markt", "HealthPlus")),
    MerchantCategory("5311", 65.0, 0.8, 5, 3, ("Grand Magasin", "Kaufhaus Zentrum", "CityStore")),
    MerchantCategory("5651", 70.0, 0.7, 5, 5, ("Mode Élégance", "Urban Threads", "Kleiderstübchen")),
    MerchantCategory("5732", 160.0, 0.9, 2, 4, ("ElektroMax", "TechWorld", "Numérique Plus")),
    MerchantCategory("4111", 3.2, 0.4, 6, 2, ("City Transit", "Réseau Urbain", "Verkehrsbetriebe")),
    MerchantCategory("4121", 19.0, 0.5, 2, 2, ("Taxi Sécurité", "RideNow")),
    MerchantCategory("4511", 240.0, 0.6, 0.3, 3, ("SkyWings Airlines", "Air Océane")),
    MerchantCategory("7011", 190.0, 0.6, 0.7, 2.5, ("Hôtel Lumière", "Gasthof Zur Post", "Harbour Inn")),
    MerchantCategory("5969", 42.0, 0.8, 0, 8, ("ShopDirect Online", "Boutique en Ligne", "Versandhaus")),
    MerchantCategory("4899", 12.99, 0.3, 0, 5, ("StreamBox", "Musique Illimitée", "PlayCloud")),
    MerchantCategory("5999", 30.0, 0.9, 6, 2, ("Kiosk Ecke", "Marché Saint-Michel", "Corner Shop")),
]
ATM_MCC = "6011"
ATM_AMOUNTS = [20, 50, 100, 200, 300, 500]
ATM_WEIGHTS = [0.2, 0.3, 0.25, 0.15, 0.06, 0.04]
ONLINE_FRAUD_MCCS = ["5732", "5969", "4511"]

DESCRIPTIONS = {
    "card_pos": "Card payment",
    "card_online": "Online card payment",
    "atm": "Cash withdrawal",
    "transfer_in": "SEPA credit transfer",
    "transfer_out": "SEPA transfer",
    "direct_debit": "SEPA direct debit",
    "standing_order": "Standing order",
    "salary": "Salary",
    "branch": "Branch cash transaction",
}

SURVEY_CHANNELS = ["app", "web", "email", "branch", "phone"]
SURVEY_COMMENTS = {
    "detractor": ["Fees are too high", "App keeps logging me out", "Waited too long on the phone", "Card blocked"],
    "passive": ["OK overall", "Transfers could be faster", "Fine, nothing special", "Decent, but fees, fees"],
    "promoter": ["Great app, fast transfers", "Very helpful branch staff", "Love the instant notifications"],
}
UNKNOWN_CURRENCIES = ["EUX", "USX", "CZZ", "PLX", "EUD"]
