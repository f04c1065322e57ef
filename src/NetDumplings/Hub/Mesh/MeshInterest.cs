namespace NetDumplings.Hub.Mesh;

/// <summary>
/// What one eater wants from the mesh, as NATS subjects can say it: the subject tokens of the kitchens and of the
/// chefs it named (<see cref="MeshWire.SubjectToken"/>), null for a dimension it left open or narrowed with a
/// wildcard other than the name itself (NATS matches whole tokens only).
/// </summary>
internal sealed record MeshInterest(IReadOnlySet<string>? Kitchens, IReadOnlySet<string>? Chefs)
{
    public static readonly MeshInterest Everything = new(null, null);

    /// <summary>
    /// The NATS subjects that cover every dumpling some eater wants, and no dumpling twice: the subjects are
    /// disjoint (NATS delivers a message once per matching subscription). By kitchen when every eater named its
    /// kitchens, else by chef when every eater named its chefs, else the whole mesh; the whole mesh too when
    /// there would be more than <paramref name="limit"/> subjects. Empty when there are no eaters.
    /// </summary>
    public static IReadOnlyList<string> Subjects(IReadOnlyCollection<MeshInterest> interests, int limit)
    {
        if (interests.Count == 0) return [];
        string[] everything = [MeshWire.SubjectFilter(null, null)];
        var subjects = new SortedSet<string>(StringComparer.Ordinal);
        if (interests.All(i => i.Kitchens is not null))
        {
            // Per kitchen: all its chefs if one eater wants them all, else the chefs its eaters named.
            var chefsByKitchen = new Dictionary<string, HashSet<string>?>(StringComparer.Ordinal);
            foreach (var interest in interests)
                foreach (var kitchen in interest.Kitchens!)
                {
                    if (chefsByKitchen.TryGetValue(kitchen, out var chefs) && chefs is null) continue;
                    chefsByKitchen[kitchen] = interest.Chefs is null ? null : [.. chefs ?? [], .. interest.Chefs];
                }
            foreach (var (kitchen, chefs) in chefsByKitchen)
            {
                if (chefs is null) subjects.Add($"{MeshWire.SubjectPrefix}.{kitchen}.>");
                else foreach (var chef in chefs) subjects.Add(MeshWire.SubjectFilter(kitchen, chef));
                if (subjects.Count > limit) return everything;
            }
            return [.. subjects];
        }
        if (interests.All(i => i.Chefs is not null))
        {
            foreach (var interest in interests)
                foreach (var chef in interest.Chefs!)
                    if (subjects.Add(MeshWire.SubjectFilter(null, chef)) && subjects.Count > limit) return everything;
            return [.. subjects];
        }
        return everything;
    }
}
