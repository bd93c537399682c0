/** Code blocks of a Markdown document, so documentation examples can be run as written. */
export const codeBlocks = (markdown: string, language: string): string[] =>
  [...markdown.matchAll(/^```([a-z]*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1] === language)
    .map((m) => m[2] ?? "");
