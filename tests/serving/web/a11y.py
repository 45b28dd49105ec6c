"""An accessibility check of a rendered page: every input labelled, every image described, text contrast (WCAG AA).

The browser reports what it rendered (the DOM and computed styles); the rules are applied
here in Python: contrast ratio >= 4.5:1 for normal text and >= 3:1 for large text
(>= 24 px, or >= 18.66 px bold), after WCAG 2.1's relative luminance.
"""

import re

_COLLECT = """() => {
  const visible = el => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
                          return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0; };
  const background = el => {
    for (let node = el; node; node = node.parentElement) {
      const colour = getComputedStyle(node).backgroundColor;
      if (colour && colour !== 'transparent' && !colour.endsWith(', 0)')) return colour;
    }
    return 'rgb(255, 255, 255)';
  };
  const controls = [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden' && visible(el))
    .map(el => ({ id: el.id, name: el.name,
                  labelled: !!(el.labels && el.labels.length) || !!el.getAttribute('aria-label')
                            || !!el.getAttribute('aria-labelledby') }));
  const images = [...document.querySelectorAll('img')].map(el => ({ src: el.src.slice(0, 40),
                                                                    alt: el.getAttribute('alt') }));
  const figures = [...document.querySelectorAll('svg')].map(el => ({ role: el.getAttribute('role'),
                                                                     label: el.getAttribute('aria-label') }));
  const texts = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || !visible(el)) continue;
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join(' ').trim();
    if (!own) continue;
    const s = getComputedStyle(el);
    texts.push({ text: own.slice(0, 40), colour: s.color, background: background(el),
                 size: parseFloat(s.fontSize), weight: parseInt(s.fontWeight, 10) || 400 });
  }
  return { controls, images, figures, texts };
}"""


def _rgb(colour: str) -> tuple[float, float, float]:
    values = [float(v) for v in re.findall(r"[\d.]+", colour)[:3]]
    return values[0], values[1], values[2]


def _luminance(colour: str) -> float:
    channels = []
    for value in _rgb(colour):
        c = value / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb(...)`` colours (1 to 21)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def accessibility_problems(page) -> list[str]:
    """Problems found on the page Playwright shows (an empty list when it passes)."""
    found = page.evaluate(_COLLECT)
    problems = [f"input {c['id'] or c['name']!r} has no label" for c in found["controls"] if not c["labelled"]]
    problems += [f"image {i['src']!r} has no alt text" for i in found["images"] if not (i["alt"] or "").strip()]
    problems += [f"figure without role=img and a label" for f in found["figures"]
                 if f["role"] != "img" or not (f["label"] or "").strip()]
    for text in found["texts"]:
        large = text["size"] >= 24 or (text["size"] >= 18.66 and text["weight"] >= 700)
        ratio = contrast_ratio(text["colour"], text["background"])
        if ratio < (3.0 if large else 4.5):
            problems.append(f"text {text['text']!r}: contrast {ratio:.2f} ({text['colour']} on {text['background']})")
    return problems
