"""The tools the model may call, and the one rule for those that change something: they run
only when the user says yes to that call, with its arguments shown. Nothing the model read
(a file, an image, a tool's result) can say yes: the answer comes from `confirm`, which only
the window or the command line provides, by asking the person."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.tools.calculator import CalculationError, calculate, show
from app.tools.calendar import calendar

Confirm = Callable[["Tool", dict[str, Any]], bool]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments
    run: Callable[[dict[str, Any]], str]
    side_effect: bool = False  # changes something: needs the user's yes for each call

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    arguments: dict[str, Any]
    result: str
    ok: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "result": self.result}

    def chip(self) -> str:
        """What the window shows: "4821 × 37 = 178,377"."""
        if self.name == "calculator" and self.ok:
            # `**` first: it was shown "2××20"
            expression = str(self.arguments.get("expression", "")).replace("**", "^")
            expression = expression.replace("*", "×")
            return f"{expression} = {self.result}"
        args = ", ".join(f"{k}={v}" for k, v in self.arguments.items())
        return f"{self.name}({args}) → {self.result}"


def _calculator(args: dict[str, Any]) -> str:
    return show(calculate(str(args.get("expression", ""))))


CALCULATOR = Tool(
    "calculator",
    "Exact arithmetic. Use it for every calculation, even simple ones. Supports + - * / "
    "** (power), sqrt(x), root(x, n), percent(p, of), round(x, n), convert(value, 'km', "
    "'mi') for units (length, mass, volume, time, C/F/K).",
    {
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "e.g. 4821 * 37"}},
        "required": ["expression"],
    },
    _calculator,
)
CALENDAR = Tool(
    "calendar",
    "Dates and clock times: today's date, a date plus or minus days, the days between two "
    "dates, the weekday of a date (dates YYYY-MM-DD); the time now (here or in a place), a "
    "time of day plus hours and minutes, the time between two times, how long until a time, "
    "a time in another place's time zone (times as written: 10:50, 22:50, 10:50 pm).",
    {
        "type": "object",
        "properties": {
            "operation": {
                "type": "string",
                "enum": [
                    "today",
                    "add",
                    "between",
                    "weekday",
                    "now",
                    "add_time",
                    "time_between",
                    "time_until",
                    "convert_time",
                ],
            },
            "date": {"type": "string", "description": "YYYY-MM-DD or today"},
            "days": {"type": "integer", "description": "for add; negative goes back"},
            "other": {"type": "string", "description": "between, time_between: the second"},
            "time": {
                "type": "string",
                "description": "a time of day, e.g. 10:50 or 9:40 pm; for add_time, or now",
            },
            "hours": {"type": "integer", "description": "for add_time"},
            "minutes": {"type": "integer", "description": "for add_time"},
            "zone": {"type": "string", "description": "for now: a city or country"},
            "from_zone": {"type": "string", "description": "convert_time: where time is"},
            "to_zone": {"type": "string", "description": "convert_time: the place asked about"},
        },
        "required": ["operation"],
    },
    calendar,
)


@dataclass
class Registry:
    tools: dict[str, Tool] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Registry:
        return cls({t.name: t for t in (CALCULATOR, CALENDAR)})

    def add(self, tool: Tool) -> None:
        self.tools[tool.name] = tool

    @property
    def pure(self) -> bool:
        """No tool here changes anything (a reply may then run them before it is wanted)."""
        return not any(t.side_effect for t in self.tools.values())

    def schemas(self) -> list[dict[str, Any]]:
        """The tools as OpenAI function schemas (for an API with its own tool calling)."""
        return [t.schema() for t in self.tools.values()]

    def describe(self) -> str:
        return "\n".join(json.dumps(t.schema(), ensure_ascii=False) for t in self.tools.values())

    def run(self, call: ToolCall, confirm: Confirm | None = None) -> ToolOutcome:
        tool = self.tools.get(call.name)
        if tool is None:
            known = ", ".join(self.tools)
            return ToolOutcome(
                call.name, call.arguments, f"no such tool (there are: {known})", False
            )
        if not isinstance(call.arguments, dict):
            return ToolOutcome(call.name, {}, "the arguments must be a JSON object", False)
        missing = [k for k in tool.parameters.get("required", []) if k not in call.arguments]
        if missing:
            return ToolOutcome(call.name, call.arguments, f"missing: {', '.join(missing)}", False)
        if tool.side_effect and (confirm is None or not confirm(tool, call.arguments)):
            return ToolOutcome(
                call.name, call.arguments, "not done: the user did not allow it", False
            )
        try:
            return ToolOutcome(call.name, call.arguments, tool.run(call.arguments))
        except CalculationError as exc:
            return ToolOutcome(call.name, call.arguments, f"error: {exc}", False)
        except Exception as exc:  # a tool's bug must not end the turn
            return ToolOutcome(call.name, call.arguments, f"error: {type(exc).__name__}", False)
