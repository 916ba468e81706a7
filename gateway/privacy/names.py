"""Names for linkage: Unicode folding, particles, transliteration families, phonetic keys.

The same person's name arrives as ``Mohamed El Amrani``, ``MUHAMMAD ELAMRANI``, ``Mouhamed
Al-Amrani``. Everything here works on the name in memory, at encoding time; only keyed hashes
and keyed Bloom filters of the results are ever stored (:mod:`gateway.privacy.features`).

1. :func:`fold` — any script to ASCII capitals: NFKD without combining marks, then
   transliteration of what is left (Cyrillic, Vietnamese, ``ß``, ``ı``...); apostrophes vanish
   (``N'Diaye`` = ``NDIAYE``), every other non-letter becomes a space.
2. Particles (``El``, ``Al``, ``Ben``, ``Ould``, ``Abu``, ``Ait``, ``De``, ``Da``...) written as
   separate tokens are dropped when another token remains, and Arabic ones glued to a family
   name are cut off (``ELAMRANI`` = ``AMRANI``); ``Abd el``/``Abdul``/``Abdel`` + name is one
   ``ABD...`` token; a lone letter joins the next token (``N Diaye`` = ``NDIAYE``).
3. :func:`canonical_token` — a token is looked up in transliteration families (every spelling
   of Muhammad is ``MUHAMMAD``), after generic spelling rules that merge the usual
   transliteration differences: doubled letters, ``OU``/``U``, ``EE``/``I``, ``OO``/``U``,
   ``PH``/``F``, ``KH``/``H``, ``CH``/``SH``, ``C``/``K`` before a back vowel, ``Q``/``K``,
   ``Y``/``I`` inside a word, ``J``/``Y`` at its start, a final ``H`` or a final ``E`` after a
   consonant. A spelling no family lists joins the family of a listed one within Jaro-Winkler
   0.93 (rapidfuzz) that has the same phonetic skeleton (``MOHAMADU``, ``MOUHAMMAD``).
4. :func:`skeleton` — a phonetic key: the canonical token's first sound and its consonants,
   with voiced/unvoiced pairs merged (``MUHAMMAD``, ``MEHMET`` -> ``MMT``); jellyfish's
   Metaphone of each canonical token is kept as a second key.

The families are general knowledge of how Arabic, West African, Slavic, South-Asian and
Vietnamese names are romanised; they are deliberately not a copy of the synthetic population's
name lists, which hold spellings these rules must catch on their own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler
from text_unidecode import unidecode  # type: ignore[import-untyped]

__all__ = [
    "PARTICLES",
    "NameForms",
    "canonical_token",
    "fold",
    "name_forms",
    "skeleton",
    "spelling_rules",
]

PARTICLES = frozenset(
    "EL AL ELL ALL BEN BIN IBN BINT OULD ULD OULED ABU ABOU BOU AIT AYT "  # noqa: SIM905
    "DE DI DA DEL DELLA DEI DOS DAS DO VAN VON DER DEN LA DELA".split()
)
# "Abd el Rahman", "Abdul Rahman", "Abderrahmane": "servant of" + a name, one token ABD+name.
_ABD = re.compile(r"\bAB(?:D|DU|DOU|DUL|DEL|DOUL|DAL|DI)\s+(?:(?:EL|AL|UL|ER|AR)\s+)?(?=[A-Z]{3})")
_ABD_GLUED = re.compile(r"^AB(?:D|DU|DOU)(?:EL|AL|UL|OUL|[EAUI]R(?=R)|I)?(?=[A-Z]{3})")
_APOSTROPHES = dict.fromkeys(map(ord, "'’‘`´ʼʻ"), None)
_NOT_LETTERS = re.compile(r"[^A-Z]+")

# Transliteration families: canonical form first, then spellings met in Italian records.
_FAMILIES = """
MUHAMMAD MOHAMED MOHAMMED MOHAMMAD MOHAMAD MUHAMED MUHAMMED MOUHAMED MOHAMET MAHOMED MUHAMAD
         MEHMET MEHMED MOHAMUD MAHAMUD MAXAMED MOHD MUHD MHD MOHAMEDOU MUHAMMET MOHAMMEDOU MHAMED
AHMAD AHMED AHMET AHAMED AHMADOU AXMED AMADOU AHMADU AMADU
HASAN HASSAN HASSANE HASSEN XASAN
HUSAYN HUSSEIN HUSSAIN HUSAIN HOSSAIN HUSEIN HUSEYIN HOSSEIN HOUSSEIN HUSSEN XUSEEN HOSEN
IBRAHIM IBRAHIMA EBRAHIM BRAHIM IBRAHEEM IBRAIM
YUSUF YOUSSEF YOUSEF YOUSSOUF YUSSUF YOUSIF JUSUF YOSEF YOUSOUF
ABDULLAH ABDALLAH ABDULLA ABDELLAH ABDOULAYE ABDULLAHI ABDOULLAH ABDOULAY
ABDULRAHMAN ABDELRAHMAN ABDERRAHMANE ABDURRAHMAN ABDIRAHMAN ABDERRAHMAN ABDOURAHMANE ABDURAHMAN
ABDULKADIR ABDELKADER ABDELKADIR ABDULQADIR ABDIKADIR
UMAR OMAR OMER OUMAR CUMAR
UTHMAN OSMAN OTHMAN USMAN OUSMANE OUSMAN OSMANE
MUSTAFA MUSTAPHA MOUSTAFA MOSTAFA MOUSTAPHA
MAHMUD MAHMOUD MAHMOOD MAHMUT
KHALID KHALED HALID
SAID SAEED SAYED SAIED SAIID
SULAYMAN SULEIMAN SOULEYMANE SULEYMAN SULAIMAN SOULEIMANE SOLIMAN SLEIMAN SOULEYMAN
ABUBAKAR BOUBACAR ABOUBACAR BOUBAKAR ABUBAKR ABOUBAKAR ABUBACARR
MAMADOU MAMADU MAMOUDOU MAMMADOU
MUSA MOUSSA MOUSA MUSSA
FATIMA FATMA FATIMAH FATUMA FADUMO FATOUMATA FATIMATA FATUMATA
AISHA AICHA AYSHA AYESHA AYSE AISSATOU AICHATOU
KHADIJA KHADIDJA KHADIGA HADIJA KADIATOU KHADIJAH HATICE KADIDIATOU
MARYAM MARIAM MARIAME MERYEM MIRIAM MARIAMA
AMINA AMINATA EMINE AMINATOU
ZAYNAB ZAINAB ZEINAB ZEYNEP ZINEB
NUR NOUR NOOR NUUR
ALEKSANDR ALEXANDER OLEKSANDR ALEXANDR ALEKSANDER OLEXANDR ALEXANDRU ALEKSANDAR
SERGEY SERGEI SERHII SERHIY SERGIY SERGHEI SERGEJ
DMITRY DMITRI DMYTRO DIMITRI DMITRIJ
ANDREY ANDREI ANDRII ANDRIY ANDRIJ ANDREJ
YURIY YURI YURII IURII JURIJ
NIKOLAY NIKOLAI MYKOLA NICOLAE
VOLODYMYR VLADIMIR
MYKHAILO MIKHAIL MIHAI MIHAIL MICHAIL
OLENA YELENA ELENA JELENA
NATALIA NATALIYA NATALYA NATALIJA
YULIA YULIYA IULIIA JULIA IULIA
TETIANA TATIANA TATYANA TETYANA TATJANA
KATERYNA EKATERINA YEKATERINA KATERINA
OLHA OLGA
IRYNA IRINA
SVITLANA SVETLANA
OKSANA OXANA
NGUYEN NGUEN NGUYN
SHEVCHENKO SCHEVCHENKO SEVCENKO SHEVCENKO
CHOWDHURY CHOUDHURY CHAUDHRY CHAUDHARY CHOWDHURI
ALI ALY CALI
ABDI CABDI
HALIMA HALIMO XALIIMO XALIMO
HIRSI XIRSI HERSI
AADAN ADAN ADEN
ZHANG CHANG CHEUNG
WANG WONG
CHEN CHAN
LIU LAU
ZHOU CHOU CHOW
HUANG HWANG
YANG YOUNG YEUNG
WU WOO
LI LEE
MICHAEL MIKAEL MIKIEL MICHEAL MIKEL
MICHAELA MIHAELA MIKAELA
DIALLO DIALO JALLOW DJALLO JALO
DIARRA JARRA
"""


def _family_table() -> dict[str, str]:
    # Lines starting with a space continue the family of the line above.
    families = re.sub(r"\n\s+", " ", _FAMILIES.strip()).splitlines()
    table: dict[str, str] = {}
    for line in families:
        words = line.split()
        canonical = _normal(words[0])
        for word in words:
            table.setdefault(_normal(word), canonical)
    return table


# --- folding -------------------------------------------------------------------------------


@lru_cache(maxsize=50_000)
def fold(text: str) -> str:
    """ASCII capitals and single spaces; apostrophes removed, other non-letters are spaces."""
    text = text.translate(_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    if not stripped.isascii():
        stripped = unidecode(stripped).translate(_APOSTROPHES)
    return _NOT_LETTERS.sub(" ", stripped.upper()).strip()


# --- spelling ------------------------------------------------------------------------------

_RULES = (
    (re.compile(r"EE"), "I"),  # Rasheed, Lee (before doubled letters become one)
    (re.compile(r"OO"), "U"),  # Mahmood
    (re.compile(r"([A-Z])\1+"), r"\1"),  # doubled letters
    (re.compile(r"(?<=[AEIOU])H$"), ""),  # Fatimah, Hamzah (before KH becomes H)
    (re.compile(r"SCH"), "SH"),
    (re.compile(r"TSH|TCH"), "CH"),
    (re.compile(r"CI(?=[AOU])"), "SH"),  # Romanian: Kovalciuk / Kovalchuk
    (re.compile(r"CH(?![RL])"), "SH"),  # French and English renderings of one sound
    (re.compile(r"PH"), "F"),
    (re.compile(r"KH$"), "K"),  # Sheikh / Sheik
    (re.compile(r"KH"), "H"),  # Khalid / Halid
    (re.compile(r"GH(?=[AEIOU])"), "G"),
    (re.compile(r"TH"), "T"),
    (re.compile(r"DH"), "D"),
    (re.compile(r"DJ"), "J"),
    (re.compile(r"OU"), "U"),
    (re.compile(r"II|IY|EY(?=[^AEIOU]|$)"), "I"),
    (re.compile(r"^J(?=[AEIOU])"), "Y"),
    (re.compile(r"^W"), "U"),
    (re.compile(r"W"), "V"),
    (re.compile(r"Q"), "K"),
    (re.compile(r"CK"), "K"),
    (re.compile(r"C(?=[AOU]|$)"), "K"),
    (re.compile(r"X"), "KS"),
    (re.compile(r"(?<=[A-Z])Y"), "I"),
    (re.compile(r"(?<=[A-Z]{2}[^AEIOU])E$"), ""),  # Ousmane, Abderrahmane
    (re.compile(r"([A-Z])\1+"), r"\1"),
)


@lru_cache(maxsize=50_000)
def spelling_rules(token: str) -> str:
    """The generic transliteration rules applied to one folded token."""
    for pattern, replacement in _RULES:
        token = pattern.sub(replacement, token)
    return token


def _normal(token: str) -> str:
    return spelling_rules(_ABD_GLUED.sub("ABD", token))


_TABLE: dict[str, str] = {}
FUZZY_MIN_LENGTH = 5  # shorter tokens are too easily close to another name (ALI, ALIA)
FUZZY_SIMILARITY = 0.93  # Jaro-Winkler, and the phonetic skeleton must agree too


@lru_cache(maxsize=50_000)
def canonical_token(token: str) -> str:
    """The canonical spelling of one folded token.

    Its family's canonical form if the spelling rules give a known spelling, or if they give
    one within Jaro-Winkler 0.93 of a known spelling with the same skeleton (``MOHAMADU``,
    ``MOUHAMMAD``); else the rules' output.
    """
    if not _TABLE:
        _TABLE.update(_family_table())
    spelled = _normal(token)
    found = _TABLE.get(spelled)
    if found is not None:
        return found
    if len(spelled) >= FUZZY_MIN_LENGTH:
        near = process.extractOne(
            spelled, _TABLE.keys(), scorer=JaroWinkler.similarity, score_cutoff=FUZZY_SIMILARITY
        )
        if near is not None and skeleton(near[0]) == skeleton(spelled):
            return _TABLE[near[0]]
    return spelled


_SOUNDS = str.maketrans("BDGVZQCXW", "PTKFSKKKF")


@lru_cache(maxsize=50_000)
def skeleton(token: str) -> str:
    """A phonetic key of a canonical token: first sound, then consonant classes."""
    if not token:
        return ""
    first = "A" if token[0] in "AEIOU" else ("Y" if token[0] in "JY" else token[0])
    rest = [c for c in token[1:].translate(_SOUNDS) if c not in "AEIOUYH"]
    key = [first.translate(_SOUNDS)]
    for c in rest:
        if c != key[-1]:
            key.append(c)
    return "".join(key)


# --- whole names ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameForms:
    """What linkage compares of one name. Held in memory only; stored as keyed hashes."""

    folded: str  # as written, folded (the codice fiscale letters are computed from this)
    tokens: tuple[str, ...]  # canonical tokens, particles dropped
    compact: str  # the canonical tokens run together: what the Bloom filter encodes
    skeletons: tuple[str, ...]  # phonetic key of each token
    metaphones: tuple[str, ...]  # Metaphone (jellyfish) of each token: a second opinion


# Arabic particles glued to a family name ("Elamrani", "Benjelloun", "Ouldahmed").
_GLUED_PARTICLE = re.compile(r"^(?:EL|AL|BEN|BIN|ABU|ABOU|OULD|AIT|DELA)(?=[A-Z]*[AEIOU][A-Z]*$)")
_LONE_LETTER = re.compile(r"\b([A-Z]) (?=[A-Z]{2})")  # "N DIAYE" -> "NDIAYE"


@lru_cache(maxsize=50_000)
def name_forms(text: str, *, family: bool = False) -> NameForms | None:
    """The forms of a name, or None if nothing of it is left after folding.

    ``family``: a family name, whose glued Arabic particles are cut off (``ELAMRANI`` is
    ``AMRANI``) when at least three letters remain.
    """
    folded = fold(text)
    if not folded:
        return None
    words = _LONE_LETTER.sub(r"\1", _ABD.sub("ABD", folded)).split()
    kept = [w for w in words if w not in PARTICLES] or words
    if family:
        kept = [_strip_glued(w) for w in kept]
    tokens = tuple(t for t in (canonical_token(w) for w in kept) if t)
    if not tokens:
        return None
    return NameForms(
        folded=folded,
        tokens=tokens,
        compact="".join(tokens),
        skeletons=tuple(skeleton(t) for t in tokens),
        metaphones=tuple(str(jellyfish.metaphone(t)) for t in tokens),
    )


def _strip_glued(word: str) -> str:
    while (match := _GLUED_PARTICLE.match(word)) and len(word) - match.end() >= 3:
        word = word[match.end() :]
    return word
