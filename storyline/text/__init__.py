"""Text stage: cleaning, sentence splitting, tokens and stems, title trimming and language detection."""
from .clean import clean_text
from .language import detect_language, detect_languages
from .sentences import split_sentences
from .titles import trim_title
from .tokens import STOPWORDS, content_words, stem, tokenize

__all__ = [
    "clean_text", "detect_language", "detect_languages", "split_sentences", "tokenize", "content_words", "stem", "STOPWORDS", "trim_title",
]
