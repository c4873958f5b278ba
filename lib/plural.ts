/** `n` and `word`, with an s where n is not 1: `1 attempt`, `3 attempts`. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
