using System.Management.Automation;
using NetDumplings.Chefs;

using NetDumplings.PowerShell.Cmdlets;

namespace NetDumplings.PowerShell.ChefLoading;

/// <summary>A chef class a kitchen can cook with, and where it came from (Get-DumplingChef's output).</summary>
public sealed record DumplingChefInfo(string Name, string FullName, string Source, Type Type)
{
    public bool BuiltIn => Source == "built-in";
}

/// <summary>Turns -Chef and -ChefPath into chefs: names, types, instances, .cs and .dll files.</summary>
internal sealed class ChefResolver
{
    private readonly List<DumplingChefInfo> _fromFiles = [];

    public List<ErrorRecord> Errors { get; } = [];

    public IReadOnlyList<DumplingChefInfo> FromFiles => _fromFiles;

    public static IEnumerable<DumplingChefInfo> BuiltIn() =>
        ChefCatalog.BuiltIn.Select(t => new DumplingChefInfo(t.Name, t.FullName!, "built-in", t));

    /// <summary>Loads every chef class from .cs/.dll files (directories: every .cs and .dll in them); a bad file becomes an error.</summary>
    public void LoadFiles(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            var files = Directory.Exists(path)
                ? Directory.EnumerateFiles(path).Where(f => f.EndsWith(".cs", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).Order().AsEnumerable()
                : new[] { path }.AsEnumerable();
            foreach (var file in files)
            {
                try
                {
                    var types = file.EndsWith(".cs", StringComparison.OrdinalIgnoreCase) ? ChefCompiler.Compile(file)
                        : file.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ChefCatalog.LoadAssembly(file)
                        : throw new ChefLoadException(file, $"'{file}' is neither a C# source file (.cs) nor an assembly (.dll).");
                    if (types.Count == 0)
                        throw new ChefLoadException(file, $"'{file}' has no chef class: a public, non-abstract class deriving from NetDumplings.Chefs.DumplingChef with a public parameterless constructor.");
                    _fromFiles.AddRange(types.Select(t => new DumplingChefInfo(t.Name, t.FullName ?? t.Name, file, t)));
                }
                catch (ChefLoadException e)
                {
                    Errors.Add(Errors_(e, e.ChefSource, "ChefFileInvalid", ErrorCategory.InvalidData));
                }
            }
        }
    }

    /// <summary>Makes the chefs: the named, typed or given ones; with none named, every chef from the files, or else the built-ins.</summary>
    public List<DumplingChef> Resolve(object[]? chefs, bool filesGiven = false)
    {
        var result = new List<DumplingChef>();
        if (chefs is null || chefs.Length == 0)
        {
            // Chef files given but none usable: no silent fall-back to the built-ins.
            var types = filesGiven ? _fromFiles.Select(c => c.Type) : ChefCatalog.Default;
            foreach (var type in types) TryCreate(type, result);
            return result;
        }
        foreach (var item in chefs)
        {
            var value = item is PSObject ps ? ps.BaseObject : item;
            switch (value)
            {
                case DumplingChef chef:
                    result.Add(chef);
                    break;
                case Type type:
                    TryCreate(type, result);
                    break;
                case string name:
                    var found = _fromFiles.FirstOrDefault(c => Matches(c, name))?.Type ?? ChefCatalog.FindBuiltIn(name);
                    if (found is null)
                    {
                        var known = string.Join(", ", BuiltIn().Concat(_fromFiles).Select(c => c.Name).Distinct());
                        Errors.Add(Errors_(new ArgumentException($"There is no chef named '{name}'. Chefs available: {known}."),
                            name, "ChefNotFound", ErrorCategory.ObjectNotFound,
                            "Use Get-DumplingChef (with -Path for your chef files) to list the chefs, and pass their files with -ChefPath."));
                    }
                    else TryCreate(found, result);
                    break;
                case ScriptBlock:
                    Errors.Add(Errors_(new ArgumentException("A scriptblock is not a chef by itself."), value, "ScriptBlockNotAChef",
                        ErrorCategory.InvalidArgument, "Make a chef from it with New-DumplingChef and pass that."));
                    break;
                default:
                    Errors.Add(Errors_(new ArgumentException($"'{value}' ({value?.GetType().FullName ?? "null"}) is not a chef."), value,
                        "NotAChef", ErrorCategory.InvalidArgument,
                        "Pass chef names, chef classes ([MyChef]), or chef objects (New-DumplingChef, [MyChef]::new())."));
                    break;
            }
        }
        return result;
    }

    private static bool Matches(DumplingChefInfo chef, string name) =>
        string.Equals(chef.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(chef.FullName, name, StringComparison.OrdinalIgnoreCase);

    private void TryCreate(Type type, List<DumplingChef> into)
    {
        try
        {
            into.Add(ChefCatalog.Create(type));
        }
        catch (ChefLoadException e)
        {
            Errors.Add(Errors_(e, type, "ChefInvalid", ErrorCategory.InvalidArgument));
        }
    }

    private static ErrorRecord Errors_(Exception e, object? target, string id, ErrorCategory category, string? action = null) =>
        NetDumplings.PowerShell.Cmdlets.Errors.Record(e, id, category, target, action);
}
