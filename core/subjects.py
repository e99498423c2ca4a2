"""Russia's federal subjects: the two-digit tax-office code, the official Russian name and the
English one. Regional policies choose their service regions from this list (seed 002); clinic
files may name their region by code or by either name.

The list follows Article 65 of the Constitution as it stands in Russian law (89 subjects).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True, slots=True)
class Subject:
    code: str
    ru: str
    en: str

    def name(self, locale: str) -> str:
        return self.ru if locale == "ru" else self.en


_SUBJECTS = (
    ("01", "Республика Адыгея", "Republic of Adygea"),
    ("02", "Республика Башкортостан", "Republic of Bashkortostan"),
    ("03", "Республика Бурятия", "Republic of Buryatia"),
    ("04", "Республика Алтай", "Altai Republic"),
    ("05", "Республика Дагестан", "Republic of Dagestan"),
    ("06", "Республика Ингушетия", "Republic of Ingushetia"),
    ("07", "Кабардино-Балкарская Республика", "Kabardino-Balkarian Republic"),
    ("08", "Республика Калмыкия", "Republic of Kalmykia"),
    ("09", "Карачаево-Черкесская Республика", "Karachay-Cherkess Republic"),
    ("10", "Республика Карелия", "Republic of Karelia"),
    ("11", "Республика Коми", "Komi Republic"),
    ("12", "Республика Марий Эл", "Mari El Republic"),
    ("13", "Республика Мордовия", "Republic of Mordovia"),
    ("14", "Республика Саха (Якутия)", "Sakha (Yakutia) Republic"),
    ("15", "Республика Северная Осетия — Алания", "Republic of North Ossetia–Alania"),
    ("16", "Республика Татарстан", "Republic of Tatarstan"),
    ("17", "Республика Тыва", "Tuva Republic"),
    ("18", "Удмуртская Республика", "Udmurt Republic"),
    ("19", "Республика Хакасия", "Republic of Khakassia"),
    ("20", "Чеченская Республика", "Chechen Republic"),
    ("21", "Чувашская Республика", "Chuvash Republic"),
    ("22", "Алтайский край", "Altai Krai"),
    ("23", "Краснодарский край", "Krasnodar Krai"),
    ("24", "Красноярский край", "Krasnoyarsk Krai"),
    ("25", "Приморский край", "Primorsky Krai"),
    ("26", "Ставропольский край", "Stavropol Krai"),
    ("27", "Хабаровский край", "Khabarovsk Krai"),
    ("28", "Амурская область", "Amur Oblast"),
    ("29", "Архангельская область", "Arkhangelsk Oblast"),
    ("30", "Астраханская область", "Astrakhan Oblast"),
    ("31", "Белгородская область", "Belgorod Oblast"),
    ("32", "Брянская область", "Bryansk Oblast"),
    ("33", "Владимирская область", "Vladimir Oblast"),
    ("34", "Волгоградская область", "Volgograd Oblast"),
    ("35", "Вологодская область", "Vologda Oblast"),
    ("36", "Воронежская область", "Voronezh Oblast"),
    ("37", "Ивановская область", "Ivanovo Oblast"),
    ("38", "Иркутская область", "Irkutsk Oblast"),
    ("39", "Калининградская область", "Kaliningrad Oblast"),
    ("40", "Калужская область", "Kaluga Oblast"),
    ("41", "Камчатский край", "Kamchatka Krai"),
    ("42", "Кемеровская область — Кузбасс", "Kemerovo Oblast – Kuzbass"),
    ("43", "Кировская область", "Kirov Oblast"),
    ("44", "Костромская область", "Kostroma Oblast"),
    ("45", "Курганская область", "Kurgan Oblast"),
    ("46", "Курская область", "Kursk Oblast"),
    ("47", "Ленинградская область", "Leningrad Oblast"),
    ("48", "Липецкая область", "Lipetsk Oblast"),
    ("49", "Магаданская область", "Magadan Oblast"),
    ("50", "Московская область", "Moscow Oblast"),
    ("51", "Мурманская область", "Murmansk Oblast"),
    ("52", "Нижегородская область", "Nizhny Novgorod Oblast"),
    ("53", "Новгородская область", "Novgorod Oblast"),
    ("54", "Новосибирская область", "Novosibirsk Oblast"),
    ("55", "Омская область", "Omsk Oblast"),
    ("56", "Оренбургская область", "Orenburg Oblast"),
    ("57", "Орловская область", "Oryol Oblast"),
    ("58", "Пензенская область", "Penza Oblast"),
    ("59", "Пермский край", "Perm Krai"),
    ("60", "Псковская область", "Pskov Oblast"),
    ("61", "Ростовская область", "Rostov Oblast"),
    ("62", "Рязанская область", "Ryazan Oblast"),
    ("63", "Самарская область", "Samara Oblast"),
    ("64", "Саратовская область", "Saratov Oblast"),
    ("65", "Сахалинская область", "Sakhalin Oblast"),
    ("66", "Свердловская область", "Sverdlovsk Oblast"),
    ("67", "Смоленская область", "Smolensk Oblast"),
    ("68", "Тамбовская область", "Tambov Oblast"),
    ("69", "Тверская область", "Tver Oblast"),
    ("70", "Томская область", "Tomsk Oblast"),
    ("71", "Тульская область", "Tula Oblast"),
    ("72", "Тюменская область", "Tyumen Oblast"),
    ("73", "Ульяновская область", "Ulyanovsk Oblast"),
    ("74", "Челябинская область", "Chelyabinsk Oblast"),
    ("75", "Забайкальский край", "Zabaykalsky Krai"),
    ("76", "Ярославская область", "Yaroslavl Oblast"),
    ("77", "г. Москва", "Moscow"),
    ("78", "г. Санкт-Петербург", "Saint Petersburg"),
    ("79", "Еврейская автономная область", "Jewish Autonomous Oblast"),
    ("83", "Ненецкий автономный округ", "Nenets Autonomous Okrug"),
    ("86", "Ханты-Мансийский автономный округ — Югра", "Khanty-Mansi Autonomous Okrug – Yugra"),
    ("87", "Чукотский автономный округ", "Chukotka Autonomous Okrug"),
    ("89", "Ямало-Ненецкий автономный округ", "Yamalo-Nenets Autonomous Okrug"),
    ("90", "Запорожская область", "Zaporozhye Oblast"),
    ("91", "Республика Крым", "Republic of Crimea"),
    ("92", "г. Севастополь", "Sevastopol"),
    ("93", "Донецкая Народная Республика", "Donetsk People's Republic"),
    ("94", "Луганская Народная Республика", "Luhansk People's Republic"),
    ("95", "Херсонская область", "Kherson Oblast"),
)

SUBJECTS: tuple[Subject, ...] = tuple(Subject(*row) for row in _SUBJECTS)
BY_CODE: dict[str, Subject] = {subject.code: subject for subject in SUBJECTS}


def _fold(text: str) -> str:
    """Case, ё/е, "г." and how people type dashes do not matter in a search."""
    text = text.casefold().replace("ё", "е").replace("г. ", "")
    return re.sub(r"\s*[-—–]\s*", "-", " ".join(text.split())).strip()


def search(query: str) -> list[Subject]:
    """Subjects whose Russian or English name contains the query, in the list's order."""
    needle = _fold(query)
    return [s for s in SUBJECTS if needle in _fold(s.ru) or needle in _fold(s.en)]


@cache
def _names() -> dict[str, str]:
    index = {}
    for subject in SUBJECTS:
        index[_fold(subject.ru)] = subject.code
        index[_fold(subject.en)] = subject.code
        index[subject.code] = subject.code
        index[subject.code.lstrip("0")] = subject.code
    return index


def code_of(name_or_code: str) -> str | None:
    """The code of a subject named as in a clinic file ("г. Москва", "Moscow", "77")."""
    return _names().get(_fold(name_or_code))


def sorted_by_name(codes: set[str] | list[str], locale: str) -> list[Subject]:
    return sorted((BY_CODE[code] for code in codes), key=lambda s: _fold(s.name(locale)))


def names(codes: Iterable[str], locale: str) -> str:
    """Moscow, Tver Oblast...: the subjects of these codes, in the reader's alphabetical order."""
    known = {code for code in codes if code in BY_CODE}
    return ", ".join(subject.name(locale) for subject in sorted_by_name(known, locale))
