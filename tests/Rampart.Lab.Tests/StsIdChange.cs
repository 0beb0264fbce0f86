namespace Rampart.Lab.Tests;

/// <summary>
/// The test classes that read sts-idchange.test and the one that bumps it (<c>lab-bump</c> re-signs the zone, reloads
/// NSD and the policy host) run one after the other, so no reader sees the scenario halfway through a bump.
/// </summary>
[CollectionDefinition(Collection)]
public sealed class StsIdChange
{
    public const string Collection = "sts-idchange.test";
}
