namespace NetDumplings.Protocol;

/// <summary>
/// A chef or kitchen name an eater wants, possibly with the wildcards <c>*</c> and <c>?</c>
/// (as PowerShell's <c>-like</c>, case-insensitive). Kept tiny and allocation-free because it runs
/// on every dumpling the hub sends.
/// </summary>
public sealed class NamePattern
{
    private readonly string _pattern;

    public NamePattern(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        _pattern = pattern;
        IsLiteral = pattern.IndexOfAny(['*', '?']) < 0;
    }

    /// <summary>True when the pattern has no wildcard: a hub can match it exactly.</summary>
    public bool IsLiteral { get; }

    public string Pattern => _pattern;

    public bool IsMatch(string? name) =>
        name is not null && (IsLiteral
            ? string.Equals(name, _pattern, StringComparison.OrdinalIgnoreCase)
            : Glob(_pattern, name));

    /// <summary>True when <paramref name="name"/> matches any of <paramref name="patterns"/>, or there are none.</summary>
    public static bool MatchesAny(IReadOnlyList<NamePattern> patterns, string? name)
    {
        if (patterns.Count == 0) return true;
        for (var i = 0; i < patterns.Count; i++)
            if (patterns[i].IsMatch(name)) return true;
        return false;
    }

    // Iterative glob with single-star backtracking: linear in practice, no recursion.
    private static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            int matched;
            if (p < pattern.Length && pattern[p] == '?')
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && (matched = SameLetters(pattern, p, text, t)) > 0)
            {
                p += matched;
                t += matched;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>
    /// How many chars at <paramref name="p"/> and <paramref name="t"/> are one letter to OrdinalIgnoreCase, as literal
    /// names compare (a surrogate pair as one: Deseret has case); 0 when they differ.
    /// </summary>
    private static int SameLetters(ReadOnlySpan<char> pattern, int p, ReadOnlySpan<char> text, int t)
    {
        var length = char.IsHighSurrogate(pattern[p]) && p + 1 < pattern.Length && t + 1 < text.Length ? 2 : 1;
        return pattern.Slice(p, length).Equals(text.Slice(t, length), StringComparison.OrdinalIgnoreCase) ? length : 0;
    }

    public override string ToString() => _pattern;
}
