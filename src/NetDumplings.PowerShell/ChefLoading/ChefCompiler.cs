using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetDumplings.Chefs;

namespace NetDumplings.PowerShell.ChefLoading;

/// <summary>
/// Compiles a user's chef .cs file with the Roslyn that pwsh itself ships, against the framework,
/// the engine and PacketDotNet. A file compiles once per content: starting a kitchen again with
/// the same file reuses the assembly (assemblies cannot be unloaded from pwsh's default context).
/// </summary>
internal static class ChefCompiler
{
    private static readonly ConcurrentDictionary<string, Assembly> Compiled = new(StringComparer.Ordinal);
    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(LoadReferences);

    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net;
        global using System.Threading;
        global using System.Threading.Tasks;
        global using NetDumplings.Packets; // where ChefPacket lives since 0.2: chef files written for 0.1 still compile
        """;

    public static IReadOnlyList<Type> Compile(string path)
    {
        string source;
        try
        {
            source = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ChefLoadException(path, $"Cannot read the chef file '{path}': {e.Message}", e);
        }
        var key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(path + "\0" + source)));
        var assembly = Compiled.GetOrAdd(key, _ => Build(path, source, key));
        return ChefCatalog.ChefTypesIn(assembly);
    }

    private static Assembly Build(string path, string source, string key)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var tree = CSharpSyntaxTree.ParseText(source, options, path);
        // The implicit usings of an SDK project, so a chef file reads like any other C# file of ours.
        var usings = CSharpSyntaxTree.ParseText(ImplicitUsings, options, "ImplicitUsings.g.cs");
        var compilation = CSharpCompilation.Create($"NetDumplings.UserChefs.{Path.GetFileNameWithoutExtension(path)}.{key[..12]}",
            [tree, usings], References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                optimizationLevel: OptimizationLevel.Release));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
        {
            var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10)
                .Select(d => d.ToString());
            throw new ChefLoadException(path, $"The chef file '{path}' does not compile:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", errors)}");
        }
        stream.Position = 0;
        return AssemblyLoadContext.Default.LoadFromStream(stream);
    }

    private static IReadOnlyList<MetadataReference> LoadReferences()
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string tpa)
            foreach (var p in tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)) paths.Add(p);
        foreach (var assembly in new[] { typeof(DumplingChef).Assembly, typeof(PacketDotNet.Packet).Assembly, typeof(SharpPcap.ICaptureDevice).Assembly })
            paths.Add(assembly.Location);
        return paths.Where(File.Exists).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }
}
