"""Generated arithmetic, word and date problems with exact answers (bench/reasoning.py and
the tools tests use them)."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Problem:
    kind: str
    question: str
    answer: str  # as a person would say it: "178377", "409.5", "Sunday", "2026-04-24"


def _num(value: Fraction | int) -> str:
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def problems(n_each: int = 8, seed: int = 1) -> list[Problem]:
    rng = random.Random(seed)
    out: list[Problem] = []
    for _ in range(n_each):
        a, b = rng.randint(1200, 9800), rng.randint(13, 97)
        out.append(Problem("multiply", f"What is {a} times {b}?", _num(a * b)))
        p, of = rng.choice([12.5, 17.5, 22.5, 7.5, 35, 42, 18]), rng.randint(120, 9900)
        out.append(
            Problem("percent", f"What is {p} percent of {of}?", _num(Fraction(str(p)) * of / 100))
        )
        d = rng.choice([16, 24, 32, 48, 64])
        q = rng.randint(150, 990)
        out.append(Problem("divide", f"What is {q * d} divided by {d}?", _num(q)))
        r = rng.randint(21, 99)
        out.append(Problem("root", f"What is the square root of {r * r}?", _num(r)))
        price, count = Fraction(rng.randint(105, 995), 100), rng.randint(12, 75)
        out.append(
            Problem(
                "word",
                f"A shop sells notebooks at {float(price):.2f} euros each. How much do {count} "
                "notebooks cost in euros?",
                _num(price * count),
            )
        )
        money, spent = rng.randint(800, 4000), rng.choice([15, 25, 35, 45])
        out.append(
            Problem(
                "word",
                f"Anna has {money} euros and spends {spent} percent of it. How many euros does "
                "she have left?",
                _num(Fraction(money) * (100 - spent) / 100),
            )
        )
        speed, hours = rng.randint(45, 120), rng.choice([1.5, 2.5, 3.5, 4.25])
        out.append(
            Problem(
                "word",
                f"A train travels at {speed} km/h for {hours} hours. How many kilometres does "
                "it travel?",
                _num(Fraction(str(hours)) * speed),
            )
        )
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        out.append(
            Problem("date", f"What day of the week is {day.isoformat()}?", day.strftime("%A"))
        )
    return out


def correct(problem: Problem, reply: str) -> bool:
    """The reply states the answer (numbers compared as numbers, 1,234.50 = 1234.5)."""
    if not problem.answer[0].isdigit():
        return problem.answer.lower() in reply.lower()
    want = Fraction(problem.answer)
    for token in re.findall(r"\d[\d,]*(?:\.\d+)?", reply):
        try:
            value = Fraction(token.replace(",", ""))
        except ValueError:
            continue
        if abs(value - want) <= Fraction(1, 100):
            return True
    return False


@dataclass(frozen=True)
class UnitProblem(Problem):
    unit: str = ""  # a regex: the reply must name the question's unit (litres, euros, km)


def unit_problems() -> list[UnitProblem]:
    """Word problems asked in a unit, whose answer is only of use with it ("22", but 22 what?)."""
    items = [
        ("A tank holds 40 litres and leaks 3 litres an hour. How much is left after 6 hours?",
         "22", r"lit(?:re|er)s?|\bl\b"),
        ("My car uses 6 litres of fuel per 100 km. How much fuel do I need for a 250 km trip?",
         "15", r"lit(?:re|er)s?|\bl\b"),
        ("A train travels at 80 km/h for 2.5 hours. How far does it go?",
         "200", r"kilomet(?:re|er)s?|\bkm\b"),
        ("Apples cost 1.20 euros each. How much do 7 apples cost?", "8.40", r"euros?|€"),
        ("A cake needs 250 grams of flour. How much flour do I need for 3 cakes?",
         "750", r"grams?|\bg\b"),
        ("A bag of rice weighs 2.5 kg. How much do 6 bags weigh?",
         "15", r"kilo(?:gram)?s?|\bkg\b"),
        ("A pump fills 800 litres an hour. How many hours does it take to fill a 12000 litre "
         "pool?", "15", r"hours?"),
        ("Tickets cost 12 dollars each. How much do 5 tickets cost?", "60", r"dollars?|\$"),
        ("I walk 4 miles every day. How many miles do I walk in 14 days?", "56", r"miles?"),
        ("A runner covers 5 km in 25 minutes. How many minutes does she take per km?",
         "5", r"minutes?"),
    ]  # fmt: skip
    return [UnitProblem("unit", q, a, u) for q, a, u in items]


def states_unit(problem: Problem, reply: str) -> bool:
    """The reply states the answer and the question's unit."""
    unit = getattr(problem, "unit", "")
    return correct(problem, reply) and bool(re.search(unit, reply, re.IGNORECASE))
