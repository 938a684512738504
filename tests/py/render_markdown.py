"""Renders Markdown from standard input to HTML with markdown-it-py (CommonMark plus tables and
strikethrough, as GitHub renders pull-request bodies); called by tests."""
import sys

from markdown_it import MarkdownIt

sys.stdout.write(MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(sys.stdin.read()))
