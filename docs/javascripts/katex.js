// Typesets the \( ... \) and \[ ... \] that pymdownx.arithmatex (generic mode) leaves in the
// pages, with the KaTeX copy in docs/assets/katex (served by the site: no CDN). Material's
// document$ fires on every page load, instant navigation included.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  });
});
