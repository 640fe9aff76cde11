from storyline.text import clean_text, content_words, detect_language, split_sentences


def test_split_keeps_abbreviations_and_initials():
    text = 'The U.S. Army said so. Mr. Smith went to Washington. Then J. Doe left! Why? At 3 p.m. it rained.'
    assert split_sentences(text) == [
        "The U.S. Army said so.", "Mr. Smith went to Washington.", "Then J. Doe left!", "Why?", "At 3 p.m. it rained.",
    ]


def test_split_keeps_plural_titles_and_runs_of_initials():
    text = ("Sens. Mitt Romney and Susan Collins voted no. President George H.W. Bush signed H.R. 3 in "
            "Houston. Reps. Jim Jordan (R-Ohio) and Maj. Gen. Smith spoke. The vote was 51-49.")
    assert split_sentences(text) == [
        "Sens. Mitt Romney and Susan Collins voted no.", "President George H.W. Bush signed H.R. 3 in Houston.",
        "Reps. Jim Jordan (R-Ohio) and Maj. Gen. Smith spoke.", "The vote was 51-49.",
    ]


def test_split_handles_quotes_and_newlines():
    text = 'He said: "We will leave." The embassy closed.\nA second paragraph'
    assert split_sentences(text) == ['He said: "We will leave."', "The embassy closed.", "A second paragraph"]


def test_split_leaves_out_an_opening_wire_dateline():
    for text, first in [
        ("WASHINGTON (AP) — The Senate voted 51-49. Debate ended.", "The Senate voted 51-49."),
        ("TUSCALOOSA, Ala. (AP) — A storm hit the city.", "A storm hit the city."),
        ("Washington (CNN) - The House adjourned.", "The House adjourned."),
        ("NEW YORK — \"We are open,\" the mayor said.", '"We are open," the mayor said.'),
    ]:
        assert split_sentences(text)[0] == first
    # only at the start of the text, and never a dash inside a sentence
    assert split_sentences("Trump — the president — said no.") == ["Trump — the president — said no."]
    assert split_sentences("NASA - the agency said so.") == ["NASA - the agency said so."]
    assert split_sentences("First line.\nWASHINGTON — Second.") == ["First line.", "WASHINGTON — Second."]


def test_clean_text_normalizes_without_changing_words():
    assert clean_text("  Caf\u0065\u0301\u00a0au &amp; lait\u200b \n\n next ") == "Café au & lait\nnext"
    assert clean_text("<b>bold</b> move", strip_tags=True) == "bold move"


def test_language_detection():
    assert detect_language("Der Bundestag hat heute ein neues Gesetz zur Rente beschlossen.") == "de"
    assert detect_language("The council voted on Tuesday to close the harbor bridge for repairs.") == "en"
    assert detect_language("ok") == ""


def test_the_language_model_preloads_in_a_thread_and_a_fork_waits_for_it():
    """``storyline ingest`` starts loading the model in a thread; a helper forked meanwhile gets
    the loaded model (the fork waits), never a copy of a half-done load's held lock."""
    import os
    import sys
    import time

    import pytest

    from storyline.text import language

    if sys.platform != "linux":
        pytest.skip("forked helpers are Linux's")
    language._LOADED.clear()
    language.preload()
    deadline = time.monotonic() + 5
    while not language._LOCK.locked() and not language._LOADED and time.monotonic() < deadline:
        time.sleep(0.001)
    assert language._LOCK.locked() and not language._LOADED  # loading (it takes about a second)
    pid = os.fork()
    if pid == 0:  # the child: the model is there without loading it again
        os._exit(0 if language._LOADED and not language._LOCK.locked() else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert language._LOADED and detect_language("Der Bundestag hat heute ein neues Gesetz beschlossen.") == "de"


def _same(a, b) -> bool:
    import numpy as np

    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def test_the_language_model_from_the_cache_is_py3langid_s_own(tmp_path, monkeypatch):
    """The model's arrays are kept decompressed in the user cache; the identifier built from
    them equals py3langid's own in every field, on the run that writes the cache, the runs that
    read it, after a damaged file (written again), and where no cache can be written at all."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    from storyline.text import language

    own = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)

    def same_as_own() -> bool:
        got = language._load_model()
        return all(_same(getattr(got, slot), getattr(own, slot)) for slot in LanguageIdentifier.__slots__)

    monkeypatch.setenv("STORYLINE_CACHE_DIR", str(tmp_path / "cache"))
    assert same_as_own()  # loaded from the package, the cache written
    (folder,) = (tmp_path / "cache").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.npy" for n in language._PARTS)
    assert language._cached(folder) is not None and same_as_own()  # read from the cache
    for damage in (b"", b"\x93NUMPY damaged", (folder / "nextmove.npy").read_bytes()[:-100]):
        (folder / "nextmove.npy").write_bytes(damage)  # empty, no array, cut short
        assert language._cached(folder) is None and same_as_own()  # loaded again, the cache rewritten
        assert language._cached(folder) is not None
    (tmp_path / "other.xz").write_bytes((MODEL_DIR / MODEL_FILE).read_bytes()[:-1] + b"\0")  # same size
    assert language._cache_folder(tmp_path / "other.xz") not in (None, folder)  # another model: another folder
    assert language._cache_folder(tmp_path / "missing.xz") is None
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("STORYLINE_CACHE_DIR", str(tmp_path / "file"))
    assert same_as_own() and (tmp_path / "file").read_text() == "not a folder"


def test_content_words_keep_acronyms_and_numbers():
    assert content_words("The U.S. sent 52 ships") == ["us", "sent", "52", "ships"]


def test_languages_in_one_call_are_py3langid_s_own():
    """``detect_languages`` computes the classifier's DFA walk for a batch at once; its
    decisions and probabilities are py3langid's ``classify`` to the bit, in any language."""
    from storyline.text import detect_languages, language

    texts = ["Der Bundestag hat heute ein neues Gesetz zur Rente beschlossen.",
             "The council voted on Tuesday to close the harbor bridge for repairs.",
             "ok", "", "ПРАВИТЕЛЬСТВО ОБЪЯВИЛО О НОВЫХ МЕРАХ ПОДДЕРЖКИ",
             "Le gouvernement a annoncé mardi un nouveau plan pour les hôpitaux publics.",
             "東京都は火曜日、新しい防災計画を発表しました。市民の安全を守るための取り組みです。",
             "El presidente anunció el martes nuevas medidas económicas " * 20, "1234567890 !!! ???" * 5, ""]
    identifier = language._identifier()
    samples = [t[:300] for t in texts]
    assert language._classify_all(identifier, samples) == [identifier.classify(s) for s in samples]
    assert detect_languages(texts) == [detect_language(t) for t in texts]
    assert detect_languages(texts)[:3] == ["de", "en", ""] and detect_languages([]) == []


def test_tokens_are_each_word_without_dots_case_folded():
    from storyline.text import tokenize
    from storyline.text.tokens import _WORD

    text = "The U.S. Straße ΟΔΟΣ rock-and-roll O’Neill's 3.5 İstanbul ǅemal ﬁnd, 2024 ẞ"
    assert tokenize(text) == [w.replace(".", "").casefold() for w in _WORD.findall(text)]
    assert tokenize("") == [] and tokenize("...") == []


def test_the_word_before_a_period_is_found_from_the_end_as_the_regex_found_it():
    """The splitter reads the word before a period from the end of the text before it; it is the
    word a search for ``(\\S+)$`` finds (the splitter's regex before, 12 us a period), for every
    kind of white space, quote and bracket, and so are the sentences."""
    import random
    import re

    from storyline.text import sentences

    last_word = re.compile(r"(\S+)$")

    def by_regex(before: str, next_char: str) -> bool:
        match = last_word.search(before)
        if not match:
            return False
        word = match.group(1).lstrip("\"'“‘([").rstrip(".").casefold()
        if word in sentences._ABBREVIATIONS or (word in sentences._NUMBER_SIGNS and next_char.isdigit()):
            return True
        if len(word) == 1 and word.isalpha():
            return True
        return sentences._DOTTED.fullmatch(word) is not None

    pieces = ["Mr", "Sen", "U.S", "u.s.", "J", "no", "No", "(Gen", "“Dr", "'Jan", "H.W", "word", "x", "5", "",
              " ", "\t", "\u00a0", "\u2009", "\u3000", "\x1c", "\r", "…", "ß", "İ"]
    rng = random.Random(11)
    cases = ["", " ", "Mr", "said Mr", "said Mr ", "a\u00a0Sen", "at 5 p.m", "(Gen", "Gov.\u2009Smith"]
    cases += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    for before in cases:
        for next_char in ("5", "S", ""):
            assert sentences._is_abbreviation(before, next_char) == by_regex(before, next_char), (before, next_char)
    assert sum(sentences._is_abbreviation(c, "5") for c in cases) > 300
