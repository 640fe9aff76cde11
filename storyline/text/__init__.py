"""Text stage: cleaning, sentence splitting, tokens and language detection."""
from .clean import clean_text
from .language import detect_language
from .sentences import split_sentences
from .tokens import STOPWORDS, content_words, tokenize

__all__ = ["clean_text", "detect_language", "split_sentences", "tokenize", "content_words", "STOPWORDS"]
