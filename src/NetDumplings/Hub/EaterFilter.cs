using System.Collections.Concurrent;
using System.Text.Json;
using NetDumplings.Protocol;

namespace NetDumplings.Hub;

/// <summary>
/// The chef or kitchen names an eater announced (the filter extension), as the hub matches them on
/// every dumpling: exact names in a case-insensitive hash set, wildcards as <see cref="NamePattern"/>s.
/// Matching a name seen before allocates nothing, and the announcement limits bound what a new one
/// costs, so no announcement can stall the kitchen that reads the dumpling (a Regex built from these
/// patterns could, for good).
/// </summary>
internal sealed class EaterFilter
{
    // Chef and kitchen names repeat from dumpling to dumpling: each name is matched against the
    // wildcards once and the answer remembered, so 64 wildcards cost one lookup, not 64 globs. Bounded
    // in count and name length, since a kitchen chooses the names.
    private const int MaxRemembered = 1024;
    private const int MaxRememberedLength = 256;

    private readonly HashSet<string> _names;
    private readonly NamePattern[] _wildcards;
    private readonly ConcurrentDictionary<string, bool>? _remembered;
    private int _rememberedCount;

    private EaterFilter(HashSet<string> names, NamePattern[] wildcards)
    {
        _names = names;
        _wildcards = wildcards;
        if (wildcards.Length > 0) _remembered = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        else if (names.All(Mesh.MeshWire.IsFoldable)) SubjectTokens = names.Select(Mesh.MeshWire.SubjectToken).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// The names as mesh subject tokens; null when a wildcard is among them (NATS subjects match whole tokens only) or a
    /// name that is not ASCII (its other spellings' tokens could differ from hub to hub).
    /// </summary>
    public IReadOnlySet<string>? SubjectTokens { get; }

    /// <summary>Called by every kitchen's session at once: thread-safe, and allocation-free once a name is known.</summary>
    public bool IsMatch(string? name)
    {
        if (name is null) return false;
        if (_names.Contains(name)) return true;
        if (_remembered is null) return false;
        if (_remembered.TryGetValue(name, out var known)) return known;
        var match = MatchesWildcard(name);
        if (name.Length <= MaxRememberedLength)
        {
            if (Interlocked.Increment(ref _rememberedCount) > MaxRemembered)
            {
                // Many distinct names: start afresh rather than grow, keeping the ones in use now.
                _remembered.Clear();
                Interlocked.Exchange(ref _rememberedCount, 1);
            }
            _remembered.TryAdd(name, match);
        }
        return match;
    }

    private bool MatchesWildcard(string name)
    {
        foreach (var pattern in _wildcards)
            if (pattern.IsMatch(name)) return true;
        return false;
    }

    /// <summary>
    /// Reads <paramref name="key"/> of an eater's announcement: null filter when it is absent or empty
    /// (every name wanted); a problem (for the refusal's reason) when it breaks the options' limits.
    /// </summary>
    public static EaterFilter? Read(JsonElement announcement, string key, DumplingHubOptions options, out string? problem)
    {
        problem = null;
        if (!announcement.TryGetProperty(key, out var list) || list.ValueKind == JsonValueKind.Null) return null;
        if (list.ValueKind != JsonValueKind.Array)
        {
            problem = $"'{key}' must be a list of names or wildcards";
            return null;
        }
        var count = list.GetArrayLength();
        if (count == 0) return null;
        if (count > options.MaxEaterPatterns)
        {
            problem = $"'{key}' has {count} names, over the hub's limit of {options.MaxEaterPatterns}";
            return null;
        }
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var wildcards = new List<NamePattern>();
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                problem = $"'{key}' must be a list of names or wildcards, but holds {item.ValueKind.ToString().ToLowerInvariant()}";
                return null;
            }
            var text = item.GetString()!;
            if (text.Length > options.MaxEaterPatternLength)
            {
                problem = $"a name in '{key}' has {text.Length} characters, over the hub's limit of {options.MaxEaterPatternLength}";
                return null;
            }
            var pattern = new NamePattern(text);
            if (pattern.IsLiteral) names.Add(text);
            else wildcards.Add(pattern);
        }
        return new EaterFilter(names, [.. wildcards]);
    }
}
