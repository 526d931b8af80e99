"""Feedback becomes training data: replies rated through the real turn manager and store,
exported as SFT/DPO/KTO rows whose prompts are exactly what the model was given, and read
back with the Hugging Face `datasets` JSON loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import Settings
from app.storage.chats import ChatStore
from app.storage.dataset import export_dataset
from tests.fakes import FakeLLM
from tests.test_turns import Harness, ScriptedLLM, run

KEY = "sk-test-0123456789abcdef"


def rated_store(settings: Settings, tmp_path: Path, llm: FakeLLM) -> tuple[ChatStore, list[int]]:
    """Three questions in one chat; the replies' stored ids."""
    store = ChatStore(tmp_path)

    async def body(h: Harness) -> None:
        for i, q in enumerate(
            ["What is 2 and 2?", f"My key is {KEY}, keep it.", "What is the capital of Peru?"]
        ):
            h.turns.ask(q)
            await h.finished(h.of_user(i))

    run(body, settings, llm=llm, store=store)
    ids = [m.id for m in store.messages(store.latest_chat()) if m.role == "assistant"]
    return store, ids


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_carry_the_exact_prompt_of_each_reply(settings: Settings, tmp_path: Path) -> None:
    llm = ScriptedLLM(["Four.", "I will not keep keys.", "Lima is the capital of Peru."])
    store, (four, key, lima) = rated_store(settings, tmp_path, llm)
    store.rate(four, 1)
    store.rate(key, -1)
    store.rate(lima, -1, correction="Lima.")

    sft = tmp_path / "sft.jsonl"
    result = export_dataset(store, sft, "sft", secrets=(KEY,))
    assert (result.rows, result.rated, result.skipped) == (2, 3, 0)
    first, second = read(sft)
    # The prompt the model got for "Four.", then the reply; the correction for the last one.
    assert first["messages"] == llm.prompts[0] + [{"role": "assistant", "content": "Four."}]
    masked = json.loads(json.dumps(llm.prompts[2]).replace(KEY, "[redacted]"))
    assert second["messages"] == masked + [{"role": "assistant", "content": "Lima."}]
    assert KEY not in sft.read_text()  # a key typed into a message never reaches the data

    dpo = tmp_path / "dpo.jsonl"
    export_dataset(store, dpo, "dpo", secrets=(KEY,))
    [pair] = read(dpo)
    assert pair["prompt"] == masked
    assert pair["chosen"] == [{"role": "assistant", "content": "Lima."}]
    assert pair["rejected"] == [{"role": "assistant", "content": "Lima is the capital of Peru."}]

    kto = tmp_path / "kto.jsonl"
    export_dataset(store, kto, "kto", secrets=(KEY,))
    labels = [(r["completion"][0]["content"], r["label"]) for r in read(kto)]
    assert labels == [
        ("Four.", True),
        ("I will not keep keys.", False),
        ("Lima.", True),
        ("Lima is the capital of Peru.", False),
    ]


def test_a_trimmed_context_is_exported_as_trimmed(settings: Settings, tmp_path: Path) -> None:
    class SmallContext(ScriptedLLM):
        context_size = 90  # FakeLLM counts words + 4 a message: only the newest fit

    settings.llm_max_tokens = 20
    llm = SmallContext(["First answer here.", "Second answer here.", "Third answer here."])
    store, ids = rated_store(settings, tmp_path, llm)
    assert len(llm.prompts[2]) < 1 + 5  # the model did not get the whole chat
    store.rate(ids[2], 1)
    out = tmp_path / "sft.jsonl"
    export_dataset(store, out, "sft")
    [row] = read(out)
    assert row["messages"][:-1] == llm.prompts[2]


def test_rating_is_for_replies_and_can_be_changed(settings: Settings, tmp_path: Path) -> None:
    store, ids = rated_store(settings, tmp_path, ScriptedLLM(["A.", "B.", "C."]))
    question = store.messages(store.latest_chat())[0].id
    with pytest.raises(KeyError):
        store.rate(question, 1)
    with pytest.raises(KeyError):
        store.rate(99999, 1)
    store.rate(ids[0], -1, "Better.")
    store.rate(ids[0], 1)  # thumbs changed; the correction stays
    assert store.rating(ids[0]) == (1, "Better.")
    store.rate(ids[0], 0)
    assert store.rating(ids[0]) == (0, "Better.")


@pytest.mark.parametrize("fmt", ["sft", "dpo", "kto"])
def test_the_datasets_json_loader_reads_every_format(
    settings: Settings, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # its cache, not the user's
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    store, ids = rated_store(settings, tmp_path, ScriptedLLM(["Four.", "No.", "Lima."]))
    store.rate(ids[0], 1)
    store.rate(ids[1], -1)
    store.rate(ids[2], -1, correction="Lima, in Peru.")
    out = tmp_path / f"{fmt}.jsonl"
    rows = export_dataset(store, out, fmt).rows  # type: ignore[arg-type]
    data = datasets.load_dataset("json", data_files=str(out), split="train")
    assert data.num_rows == rows > 0
    expected = {"sft": {"messages"}, "dpo": {"prompt", "chosen", "rejected"}}
    assert set(data.column_names) == expected.get(fmt, {"prompt", "completion", "label"})
    first = data[0]
    messages = first["messages"] if fmt == "sft" else first["prompt"]
    assert messages[0]["role"] == "system" and messages[1]["role"] == "user"
