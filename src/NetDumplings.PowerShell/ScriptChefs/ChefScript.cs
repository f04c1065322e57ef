using System.Management.Automation;
using System.Management.Automation.Language;
using System.Text;

namespace NetDumplings.PowerShell.ScriptChefs;

/// <summary>
/// The one script a scriptblock chef's pipeline runs, made from the text (not the ScriptBlock objects,
/// which belong to the runspace they were made in) of its handlers: the packet and interval bodies are
/// inlined into one <c>process {}</c> block that the chef's inbox streams packets and ticks into, so a
/// packet costs one process-block call, not a command invocation. <c>$using:x</c> becomes a variable
/// holding the value x had when the chef was defined, as ForEach-Object -Parallel does. Each body runs
/// inside a one-pass loop, so break and continue in a handler end that packet rather than the chef.
/// </summary>
internal sealed class ChefScript
{
    public const string InboxVariable = "__ndInbox";
    public const string TickTypeVariable = "__ndTickType";
    public const string SinkVariable = "__ndSink";
    public const string StateVariable = "State";
    private const string UsingPrefix = "__ndUsing";

    private ChefScript(string text, IReadOnlyDictionary<string, object?> usingValues, IReadOnlyList<Piece> pieces)
    {
        Text = text;
        UsingValues = usingValues;
        _pieces = pieces;
    }

    /// <summary>A handler's block inlined into the script: its lines here and where they came from.</summary>
    private sealed record Piece(int GeneratedLine, int LineCount, int SourceLine, string? File, string Handler);

    private readonly IReadOnlyList<Piece> _pieces;

    /// <summary>
    /// Where a line of the generated script came from: the handler (-OnPacket, -OnInterval), its script
    /// file (null when typed at the prompt) and the line there; null for the script's own glue lines.
    /// </summary>
    public (string Handler, string? File, int Line)? Locate(int generatedLine)
    {
        foreach (var piece in _pieces)
            if (generatedLine >= piece.GeneratedLine && generatedLine < piece.GeneratedLine + piece.LineCount)
                return (piece.Handler, piece.File, piece.SourceLine + (generatedLine - piece.GeneratedLine));
        return null;
    }

    /// <summary>The generated script.</summary>
    public string Text { get; }

    /// <summary>Variables to set in the chef's runspace: the generated name of each $using: variable and its value.</summary>
    public IReadOnlyDictionary<string, object?> UsingValues { get; }

    /// <summary>
    /// Builds the script. <paramref name="readVariable"/> reads a variable where the chef is defined
    /// (false when it does not exist).
    /// </summary>
    /// <exception cref="ArgumentException">A handler has a shape a chef cannot run; the message says what to change.</exception>
    public static ChefScript Build(ScriptBlock onPacket, ScriptBlock? onInterval, Func<string, (bool Found, object? Value)> readVariable)
    {
        var usingNames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var usingValues = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);

        var packet = Handler.From(onPacket, "OnPacket", allowParameter: true, usingNames, usingValues, readVariable);
        var interval = onInterval is null ? null : Handler.From(onInterval, "OnInterval", allowParameter: false, usingNames, usingValues, readVariable);

        var script = new StringBuilder(512);
        var pieces = new List<Piece>(4);
        // Appends a handler's block, noting which lines of the script it fills.
        void Inline(Block block, string handler)
        {
            var line = 1;
            for (var i = 0; i < script.Length; i++) if (script[i] == '\n') line++;
            if (block.Text.Length > 0)
                pieces.Add(new Piece(line, block.Text.Count(c => c == '\n') + 1, block.StartLine, block.File, handler));
            script.Append(block.Text);
        }
        Inline(packet.Begin, "-OnPacket");
        script.Append('\n');
        if (interval is not null)
        {
            Inline(interval.Begin, "-OnInterval");
            script.Append('\n');
        }
        script.Append('$').Append(InboxVariable).Append(" | . {\nprocess {\n");
        if (interval is not null)
        {
            script.Append("if ($_ -is $").Append(TickTypeVariable).Append(") {\ntry { do {\n");
            Inline(interval.Body, "-OnInterval");
            script.Append("\n} while ($false) } catch { $").Append(SinkVariable).Append(".Fail($_) }\nreturn\n}\n");
        }
        script.Append('$').Append(packet.ParameterName).Append(" = $_\ntry { do {\n");
        Inline(packet.Body, "-OnPacket");
        script.Append("\n} while ($false) } catch { $").Append(SinkVariable).Append(".Fail($_) }\n}\n}\n");
        var text = script.ToString();

        // A handler that does not parse inlined (e.g. an unbalanced here-string) fails here, where the chef is defined.
        Parser.ParseInput(text, out _, out var errors);
        if (errors.Length > 0)
            throw new ArgumentException($"The chef's handlers do not make a valid script once combined: {errors[0].Message}");
        return new ChefScript(text, usingValues, pieces);
    }

    /// <summary>A block's statements as text, with the line and file they start at in the user's script.</summary>
    private sealed record Block(string Text, int StartLine, string? File)
    {
        public static readonly Block Empty = new("", 0, null);
    }

    private sealed record Handler(Block Begin, Block Body, string ParameterName)
    {
        public static Handler From(ScriptBlock block, string what, bool allowParameter,
            Dictionary<string, string> usingNames, Dictionary<string, object?> usingValues,
            Func<string, (bool Found, object? Value)> readVariable)
        {
            if (block.Ast is not ScriptBlockAst ast)
                throw new ArgumentException($"The -{what} scriptblock has no source text to run in the chef's runspace.");
            if (ast.DynamicParamBlock is not null)
                throw new ArgumentException($"The -{what} scriptblock has a dynamicparam block; a chef's handler takes only param($Packet).");
            if (ast.ProcessBlock is not null && ast.EndBlock is not null)
                throw new ArgumentException($"The -{what} scriptblock has both a process and an end block; use begin {{ }} for set-up and process {{ }} (or no named block) for the handler.");

            var parameters = ast.ParamBlock?.Parameters ?? (IReadOnlyList<ParameterAst>)Array.Empty<ParameterAst>();
            if (parameters.Count > (allowParameter ? 1 : 0))
                throw new ArgumentException(allowParameter
                    ? $"The -{what} scriptblock declares {parameters.Count} parameters; it takes one, the packet: param($Packet)."
                    : $"The -{what} scriptblock declares parameters; an interval handler takes none.");
            var parameterName = parameters.Count == 1 ? parameters[0].Name.VariablePath.UserPath : "Packet";

            // Each $using:x becomes $__ndUsingN, holding x's value now.
            var replacements = new List<(int Start, int End, string Text)>();
            foreach (var found in ast.FindAll(a => a is UsingExpressionAst, searchNestedScriptBlocks: true))
            {
                var variable = UsingExpressionAst.ExtractUsingVariable((UsingExpressionAst)found);
                var path = variable.VariablePath.UserPath;
                if (!usingNames.TryGetValue(path, out var name))
                {
                    var (exists, value) = readVariable(path);
                    if (!exists)
                        throw new ArgumentException($"The value of the using variable '$using:{path}' in -{what} cannot be read: there is no variable '{path}' where the chef is defined. Set ${path} before calling New-DumplingChef.");
                    if (value is ScriptBlock || (value is PSObject { BaseObject: ScriptBlock }))
                        throw new ArgumentException($"The using variable '$using:{path}' holds a scriptblock, which is bound to the runspace it was made in and cannot run in the chef's. Pass its text and make it with [scriptblock]::Create() inside the chef.");
                    name = UsingPrefix + usingNames.Count;
                    usingNames[path] = name;
                    usingValues[name] = value;
                }
                replacements.Add((variable.Extent.StartOffset, variable.Extent.EndOffset, "$" + name));
            }
            replacements.Sort((a, b) => a.Start.CompareTo(b.Start));

            var source = new Source(ast.Extent.Text, ast.Extent.StartOffset, replacements);
            return new Handler(source.Inner(ast.BeginBlock), source.Inner(ast.ProcessBlock ?? ast.EndBlock), parameterName);
        }
    }

    // The handler's source text with $using: replacements applied, cut to one named block's statements.
    private sealed record Source(string Text, int BaseOffset, List<(int Start, int End, string Text)> Replacements)
    {
        public Block Inner(NamedBlockAst? block)
        {
            if (block is null) return Block.Empty;
            var extents = block.Statements.Select(s => s.Extent).Concat(block.Traps?.Select(t => t.Extent) ?? []).ToList();
            if (extents.Count == 0) return Block.Empty;
            var first = extents.MinBy(e => e.StartOffset)!;
            var start = first.StartOffset;
            var end = extents.Max(e => e.EndOffset);
            var text = new StringBuilder(end - start + 16);
            var at = start;
            foreach (var (from, to, replacement) in Replacements)
            {
                if (from < start || to > end) continue;
                text.Append(Text, at - BaseOffset, from - at).Append(replacement);
                at = to;
            }
            text.Append(Text, at - BaseOffset, end - at);
            return new Block(text.ToString(), first.StartLineNumber, string.IsNullOrEmpty(first.File) ? null : first.File);
        }
    }
}
