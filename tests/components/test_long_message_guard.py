from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from components.long_message_guard import LongMessageGuard, is_long

LONG_ZH = (
    "你好 我想问一下 楼上那家装修都三个月了 每天早上七点就开始电钻 周末也不停 物业说管不了 "
    "我家老人心脏不好 实在受不了了 谢谢"
)
LONG_EN = (
    "hello sir, the family upstairs has been renovating for three months and they start drilling "
    "at seven every morning, thanks"
)


def message(text: str, intent: str, ranking: list[tuple[str, float]]) -> Message:
    return Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": ranking[0][1]},
            "intent_ranking": [{"name": name, "confidence": confidence} for name, confidence in ranking],
        }
    )


def test_a_long_greeting_becomes_the_best_ranked_report() -> None:
    for text in (LONG_ZH, LONG_EN):
        guarded = message(text, "greet", [("greet", 0.6), ("thanks", 0.2), ("report_noise", 0.15)])
        LongMessageGuard({}).process([guarded])
        assert guarded.get("intent") == {"name": "report_noise", "confidence": 0.6}
        assert guarded.get("intent_ranking")[0]["name"] == "report_noise"


def test_the_demoted_intent_cannot_tie_with_the_report() -> None:
    """A tie made FallbackClassifier's ambiguity check answer nlu_fallback to every promoted report."""
    guarded = message(LONG_EN, "deny", [("deny", 0.86), ("report_spouse_conflict", 0.1), ("thanks", 0.04)])
    LongMessageGuard({}).process([guarded])
    ranking = [(r["name"], r["confidence"]) for r in guarded.get("intent_ranking")]
    assert ranking == [("report_spouse_conflict", 0.86), ("deny", 0.0), ("thanks", 0.0)]


def test_short_messages_and_other_intents_are_left_alone() -> None:
    short = message("你好", "greet", [("greet", 0.9), ("report_noise", 0.05)])
    status = message(LONG_EN, "ask_status", [("ask_status", 0.9), ("report_noise", 0.05)])
    LongMessageGuard({}).process([short, status])
    assert short.get("intent")["name"] == "greet"
    assert status.get("intent")["name"] == "ask_status"


def test_payloads_are_never_rewritten() -> None:
    payload = message('/greet{"x": "' + "a " * 30 + '"}', "greet", [("greet", 1.0), ("report_noise", 0.0)])
    LongMessageGuard({}).process([payload])
    assert payload.get("intent")["name"] == "greet"


def test_length_counts_chinese_characters_or_words() -> None:
    assert is_long("字" * 25, 25, 14) and not is_long("字" * 24, 25, 14)
    assert is_long("word " * 12, 25, 12) and not is_long("word " * 11, 25, 12)


def test_a_long_message_whose_belief_is_spread_over_reports_is_the_best_report() -> None:
    """No single intent won, but most of DIET's belief says "a report": the best report leads."""
    spread = [
        ("inform", 0.3),
        ("report_property_damage", 0.25),
        ("report_noise", 0.2),
        ("report_shared_space", 0.15),
        ("bot_challenge", 0.1),
    ]
    guarded = message(LONG_EN, "inform", spread)
    LongMessageGuard({}).process([guarded])
    assert guarded.get("intent") == {"name": "report_property_damage", "confidence": 0.6}
    ranking = [(r["name"], r["confidence"]) for r in guarded.get("intent_ranking")]
    assert ranking[:3] == [
        ("report_property_damage", 0.6),
        ("report_noise", 0.2),
        ("report_shared_space", 0.15),
    ]
    assert ("inform", 0.0) in ranking  # a form answer is a few words, not a story


def test_little_report_belief_leaves_the_top_intent_alone() -> None:
    status = message(LONG_EN, "ask_status", [("ask_status", 0.5), ("report_noise", 0.3), ("inform", 0.2)])
    LongMessageGuard({}).process([status])
    assert status.get("intent")["name"] == "ask_status"


def test_a_short_intent_close_behind_a_report_cannot_make_it_ambiguous() -> None:
    """「…你们说这事咋整 谢谢了」: thanks 0.49 behind the report's 0.51 made FallbackClassifier unsure."""
    guarded = message(LONG_ZH, "report_inlaw_conflict", [("report_inlaw_conflict", 0.51), ("thanks", 0.49)])
    LongMessageGuard({}).process([guarded])
    assert guarded.get("intent")["name"] == "report_inlaw_conflict"
    assert [(r["name"], r["confidence"]) for r in guarded.get("intent_ranking")] == [
        ("report_inlaw_conflict", 0.51),
        ("thanks", 0.0),
    ]
