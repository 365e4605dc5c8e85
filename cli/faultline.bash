# bash completion for faultline(1). The command list is read from
# `faultline --help`, so commands added later complete without editing this.
_faultline() {
	local cur prev words cword
	_init_completion || return

	case $prev in
	-s | --socket)
		_filedir
		return
		;;
	--sort)
		COMPREPLY=($(compgen -W 'rss minflt-rate majflt-rate growth vm' -- "$cur"))
		return
		;;
	--by)
		COMPREPLY=($(compgen -W 'process unit' -- "$cur"))
		return
		;;
	-n | -w)
		return
		;;
	esac

	# Find the command, skipping global options and their arguments.
	local i cmd=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s | --socket) ((i++)) ;;
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--json --socket --version --help' -- "$cur"))
		else
			local cmds
			cmds=$("${words[0]}" --help 2>/dev/null | awk '/^Commands:/ {c = 1; next} /^$/ {c = 0} c {print $1}')
			COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		fi
		return
	fi

	case $cmd in
	show)
		COMPREPLY=($(compgen -W "$(command ls /proc | grep -E '^[0-9]+$')" -- "$cur"))
		;;
	top)
		COMPREPLY=($(compgen -W '--by -n --sort -w' -- "$cur"))
		;;
	trace)
		case $prev in
		--what)
			COMPREPLY=($(compgen -W 'faults brk mmap malloc faults,brk,mmap faults,brk,mmap,malloc' -- "$cur"))
			return
			;;
		--view)
			COMPREPLY=($(compgen -W 'faults brk mmap malloc' -- "$cur"))
			return
			;;
		--svg)
			_filedir svg
			return
			;;
		--for | --sample) return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--for --what --sample -n --folded --svg --view' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(command ls /proc | grep -E '^[0-9]+$')" -- "$cur"))
		fi
		;;
	exited | events)
		COMPREPLY=($(compgen -W '-n' -- "$cur"))
		;;
	leaks)
		if [[ $prev == -p ]]; then
			COMPREPLY=($(compgen -W "$(command ls /proc | grep -E '^[0-9]+$')" -- "$cur"))
		else
			COMPREPLY=($(compgen -W '--all -n -p' -- "$cur"))
		fi
		;;
	oom)
		# `oom show ID`: the ids come from the daemon.
		if [[ ${words[cword - 1]} == show ]]; then
			COMPREPLY=($(compgen -W "$("${words[0]}" oom 2>/dev/null | awk 'NR > 1 {print $1}')" -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'show -n' -- "$cur"))
		fi
		;;
	esac
} && complete -F _faultline faultline
