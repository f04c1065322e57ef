using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using NetDumplings.Kitchen;

namespace NetDumplings.PowerShell.ChefLoading;

/// <summary>Completes -Interface with the interfaces libpcap can capture on (and 'any').</summary>
public sealed class InterfaceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<string> names;
        try
        {
            names = DumplingKitchen.InterfaceNames();
        }
        catch (KitchenException)
        {
            return [];
        }
        var word = wordToComplete.Trim('\'', '"');
        return names.Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n)).ToList();
    }
}

/// <summary>Completes -Chef with the built-in chefs and those in the files given to -ChefPath.</summary>
public sealed class ChefNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var resolver = new ChefResolver();
        if (fakeBoundParameters["ChefPath"] is { } paths)
        {
            var list = (paths is IEnumerable e and not string ? e.Cast<object>() : [paths]).Select(p => p?.ToString()).OfType<string>();
            resolver.LoadFiles(list.Where(p => File.Exists(p) || Directory.Exists(p)));
        }
        var word = wordToComplete.Trim('\'', '"');
        return ChefResolver.BuiltIn().Concat(resolver.FromFiles)
            .Where(c => c.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .Select(c => new CompletionResult(c.Name, c.Name, CompletionResultType.ParameterValue, $"{c.FullName} ({c.Source})")).ToList();
    }
}
