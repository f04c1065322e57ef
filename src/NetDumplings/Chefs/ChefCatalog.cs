using System.Reflection;
using System.Runtime.Loader;

namespace NetDumplings.Chefs;

/// <summary>
/// Where chefs come from: the built-in sample chefs by name, chef classes in an assembly (a .dll
/// file or one already loaded), and types or instances handed over directly. A class is a chef
/// when it derives from <see cref="DumplingChef"/>, is public, concrete, has a public parameterless
/// constructor and is not marked <see cref="ChefNotAssignableAttribute"/>.
/// </summary>
public static class ChefCatalog
{
    public static IReadOnlyList<Type> BuiltIn { get; } =
        [typeof(PacketCountChef), typeof(DNSLookupChef), typeof(ARPChef), typeof(FlowChef), typeof(DNSAnswerChef), typeof(TLSChef), typeof(DHCPChef)];

    /// <summary>The chefs a kitchen cooks with when none are named: the original netdumplings' three sample chefs.</summary>
    public static IReadOnlyList<Type> Default { get; } = [typeof(PacketCountChef), typeof(DNSLookupChef), typeof(ARPChef)];

    /// <summary>A built-in chef by name ("DNSLookupChef", or the original's "netdumplings.dumplingchefs.DNSLookupChef"), case-insensitive.</summary>
    public static Type? FindBuiltIn(string name)
    {
        var shortName = name.Trim();
        var dot = shortName.LastIndexOf('.');
        if (dot >= 0) shortName = shortName[(dot + 1)..];
        return BuiltIn.FirstOrDefault(t => string.Equals(t.Name, shortName, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Why <paramref name="type"/> cannot be a kitchen's chef, or null when it can.</summary>
    public static string? WhyNotAChef(Type type)
    {
        if (!typeof(DumplingChef).IsAssignableFrom(type)) return $"'{type.FullName}' does not derive from NetDumplings.Chefs.DumplingChef.";
        if (type.IsAbstract) return $"'{type.FullName}' is abstract.";
        if (!type.IsPublic && !type.IsNestedPublic) return $"'{type.FullName}' is not public.";
        if (type.IsDefined(typeof(ChefNotAssignableAttribute), false)) return $"'{type.FullName}' is marked [ChefNotAssignable].";
        if (type.GetConstructor(Type.EmptyTypes) is null) return $"'{type.FullName}' has no public parameterless constructor.";
        return null;
    }

    /// <summary>The chef classes an assembly offers.</summary>
    public static IReadOnlyList<Type> ChefTypesIn(Assembly assembly)
    {
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types.Where(t => t is not null).ToArray()!;
        }
        return types.Where(t => WhyNotAChef(t) is null).OrderBy(t => t.FullName, StringComparer.Ordinal).ToList();
    }

    /// <summary>Loads a .dll and returns its chef classes; throws <see cref="ChefLoadException"/> saying what is wrong.</summary>
    public static IReadOnlyList<Type> LoadAssembly(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new ChefLoadException(path, $"The chef file '{path}' does not exist.");
        Assembly assembly;
        try
        {
            var name = AssemblyName.GetAssemblyName(full);
            assembly = AssemblyLoadContext.Default.Assemblies.FirstOrDefault(a =>
                           AssemblyName.ReferenceMatchesDefinition(a.GetName(), name) && string.Equals(a.Location, full, StringComparison.Ordinal))
                       ?? AssemblyLoadContext.Default.LoadFromAssemblyPath(full);
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException)
        {
            throw new ChefLoadException(path, $"'{path}' is not a .NET assembly that can be loaded: {e.Message}", e);
        }
        return ChefTypesIn(assembly);
    }

    /// <summary>Makes a chef from its class.</summary>
    public static DumplingChef Create(Type type)
    {
        if (WhyNotAChef(type) is { } why) throw new ChefLoadException(type.FullName ?? type.Name, why);
        try
        {
            return (DumplingChef)Activator.CreateInstance(type)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new ChefLoadException(type.FullName ?? type.Name, $"Chef '{type.Name}' threw from its constructor: {e.InnerException.Message}", e.InnerException);
        }
    }
}

/// <summary>A chef file or class that cannot be used: <see cref="ChefSource"/> says which.</summary>
public sealed class ChefLoadException(string source, string message, Exception? inner = null) : Exception(message, inner)
{
    public string ChefSource { get; } = source;
}
