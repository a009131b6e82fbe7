# bash completion for kvmwatch(8): its commands, each command's options,
# the attach modes, the opt-in probe points and the check groups.
_kvmwatch()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}

	case $prev in
	-m|--mode)
		COMPREPLY=($(compgen -W "fentry kprobe tracepoint" -- "$cur"))
		return ;;
	-P|--point)
		COMPREPLY=($(compgen -W "stage2_free_walker" -- "$cur"))
		return ;;
	-o|--output)
		if [[ ${COMP_WORDS[*]} == *" record "* ]]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		fi
		return ;;
	--baseline|--rules|--junit|--textfile|--command-output|-L|--log-to-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	esac
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		probe|top|check|record|export|help)
			cmd=${COMP_WORDS[i]}
			break ;;
		--)
			return ;;
		esac
	done
	local global="-v --verbose -m --mode -P --point"
	case $cmd in
	"")
		COMPREPLY=($(compgen -W "probe top check record export help -V --version -h --help $global" -- "$cur")) ;;
	probe)
		COMPREPLY=($(compgen -W "-o --output -h --help $global" -- "$cur")) ;;
	top)
		COMPREPLY=($(compgen -W "-b --batch -C --cumulative -l --log -L --log-to-file -c --csv -k --sort --vcpu --reasons -d --delay -n --iterations -p --pid -g --guest -o --output -h --help $global" -- "$cur")) ;;
	check)
		COMPREPLY=($(compgen -W "--lockup --mmio --teardown --pmu --all -d --duration -o --output --junit -p --pid -g --guest --threshold --expect-fast-mmio --baseline --tolerance --normalise --rules --list-rules --allow-command-failure --all-vms --command-output -h --help $global" -- "$cur")) ;;
	record)
		COMPREPLY=($(compgen -W "-o --output -d --duration -p --pid -g --guest --allow-command-failure --command-output --all-vms --repeat -h --help $global" -- "$cur")) ;;
	export)
		COMPREPLY=($(compgen -W "--listen --textfile -i --interval -n --count -p --pid -g --guest --grace --max-series -h --help $global" -- "$cur")) ;;
	esac
}
complete -F _kvmwatch kvmwatch
