from tests.conftest import IVAN, BotHarness, buttons, last_text, with_buttons


async def test_call_logs_and_offers_outcomes(bot: BotHarness) -> None:
    sent = await bot.send("/call Ivan Petrov, Romashka LLC 8 912 345-67-89", IVAN)
    text = last_text(sent)
    assert "Ivan Petrov" in text and "Romashka LLC" in text
    labels = [label for label, _ in buttons(with_buttons(sent))]
    assert "No answer" in labels
    rows = await bot.rows("SELECT name, phone, company FROM contacts")
    assert rows == [("Ivan Petrov", "+79123456789", "Romashka LLC")]
